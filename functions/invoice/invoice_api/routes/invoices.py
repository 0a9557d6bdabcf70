"""Invoices: list, manual entry, read, edit, status transitions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from invoice_api import flows, rules
from invoice_api.models import InvoiceChanges, InvoiceSummary, InvoiceView, NewInvoice, StatusChange
from invoice_api.records import InvoiceFilter
from payreq.http import authorize
from payreq.http.guard import check_caller
from payreq.http.mutations import IdempotencyKey
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page
from payreq.http.resources import Resource, read_page
from payreq.http.versioning import IfMatch

router = APIGatewayHttpRouter()
READ, WRITE = authorize("invoice.read"), authorize("invoice.write")
# Each change answers the invoice as it now stands (flows.view), read in the transaction that changed it.
INVOICES = Resource(router, "/api/v1/invoices", "invoice_id", InvoiceView, flows.view, read=READ, write=WRITE)
Status = Literal["received", "parsed", "parse_failed", "verified", "paid", "rejected"]


def now() -> datetime:
    return datetime.now(UTC)


@INVOICES.lists("Invoices, newest first")
def list_invoices(
    status: Status | None = None,
    vendor: Annotated[str | None, Query(max_length=200)] = None,
    number: Annotated[str | None, Query(max_length=200)] = None,
    issue_from: Annotated[date | None, Query(alias="issueFrom")] = None,
    issue_to: Annotated[date | None, Query(alias="issueTo")] = None,
    due_from: Annotated[date | None, Query(alias="dueFrom")] = None,
    due_to: Annotated[date | None, Query(alias="dueTo")] = None,
    total_min: Annotated[Decimal | None, Query(alias="totalMin")] = None,
    total_max: Annotated[Decimal | None, Query(alias="totalMax")] = None,
    linked: bool | None = None,
    duplicate: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[InvoiceSummary]:
    return read_page(
        Page[InvoiceSummary],
        flows.page_of,
        InvoiceFilter(
            status=status,
            vendor=vendor,
            number=number,
            issue_from=issue_from,
            issue_to=issue_to,
            due_from=due_from,
            due_to=due_to,
            total_min=total_min,
            total_max=total_max,
            linked=linked,
            duplicate=duplicate,
        ),
        limit=limit,
        cursor=cursor,
    )


INVOICES.create_route("create", "Enter an invoice by hand", ("invoice", NewInvoice), flows.create)
INVOICES.read_route("get_invoice", "An invoice with its services and attachments")
INVOICES.change_route("edit", "Edit an invoice (If-Match)", InvoiceChanges, flows.edit)


@INVOICES.acts(
    "status", "Verify or reject an invoice (If-Match; verifying needs invoice.verify; payments make it paid)"
)
def change_status(
    invoice_id: uuid.UUID, target: StatusChange, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    if target.status == "verified":
        # The permission depends on the body, so it is checked here, as the route guard would: 403, audited.
        check_caller(router, rules.VERIFY_PERMISSION)
    return INVOICES.change_read_version(
        invoice_id,
        lambda connection, context, version: flows.change_status(
            connection, context, invoice_id, target, version=version, now=now()
        ),
    )
