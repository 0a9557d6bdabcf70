"""Invoices: list, manual entry, read, edit, status transitions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from invoice_api import flows, rules
from invoice_api.models import InvoiceChanges, InvoiceSummary, InvoiceView, NewInvoice, StatusChange
from invoice_api.records import InvoiceFilter
from payreq.db import get_engine, read_connection
from payreq.http import authorize
from payreq.http.guard import check_caller
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from payreq.http.responses import created, json_response, ok
from payreq.http.versioning import IfMatch, etag, expected_version

router = APIGatewayHttpRouter()
READ, WRITE = authorize("invoice.read"), authorize("invoice.write")
Status = Literal["received", "parsed", "parse_failed", "verified", "paid", "rejected"]


def now() -> datetime:
    return datetime.now(UTC)


def respond(connection: Connection, invoice_id: uuid.UUID, status: int = HTTPStatus.OK) -> Response[Any]:
    """The invoice as it now stands, read in the same transaction that changed it."""
    current = flows.view(connection, invoice_id)
    headers = {"ETag": etag(current.version)}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/invoices/{invoice_id}"
    return json_response(status, current, headers=headers)


@router.get("/api/v1/invoices", summary="Invoices, newest first", middlewares=[READ])
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
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[InvoiceSummary]:
    narrowed = InvoiceFilter(
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
    )
    with read_connection(get_engine()) as connection:
        items, next_cursor = flows.page_of(connection, narrowed, limit=limit, cursor=cursor)
    return Page[InvoiceSummary](items=items, next_cursor=next_cursor)


@router.post(
    "/api/v1/invoices", summary="Enter an invoice by hand", responses=created(InvoiceView), middlewares=[WRITE]
)
def create(invoice: NewInvoice, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.create(connection, context, invoice, now=now()),
        lambda connection, invoice_id: respond(connection, invoice_id, HTTPStatus.CREATED),
    )


@router.get(
    "/api/v1/invoices/<invoice_id>",
    responses=ok(InvoiceView),
    summary="An invoice with its services and attachments",
    middlewares=[READ],
)
def get_invoice(invoice_id: uuid.UUID) -> Response[Any]:
    with read_connection(get_engine()) as connection:
        return respond(connection, invoice_id)


@router.patch(
    "/api/v1/invoices/<invoice_id>",
    responses=ok(InvoiceView),
    summary="Edit an invoice (If-Match)",
    middlewares=[WRITE],
)
def edit(
    invoice_id: uuid.UUID, changes: InvoiceChanges, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    version = expected_version(router)
    return change_and_respond(
        router,
        lambda connection, context: flows.edit(connection, context, invoice_id, changes, version=version, now=now()),
        lambda connection, _: respond(connection, invoice_id),
    )


@router.post(
    "/api/v1/invoices/<invoice_id>/status",
    responses=ok(InvoiceView),
    summary="Verify or reject an invoice (If-Match; verifying needs invoice.verify; payments make it paid)",
    middlewares=[WRITE],
)
def change_status(
    invoice_id: uuid.UUID, target: StatusChange, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    if target.status == "verified":
        # The permission depends on the body, so it is checked here, as the route guard would: 403, audited.
        check_caller(router, rules.VERIFY_PERMISSION)
    version = expected_version(router)
    return change_and_respond(
        router,
        lambda connection, context: flows.change_status(
            connection, context, invoice_id, target, version=version, now=now()
        ),
        lambda connection, _: respond(connection, invoice_id),
    )
