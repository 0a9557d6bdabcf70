"""Linking invoices to payment requests (an invoice belongs to at most one)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey
from payreq.http.responses import ok
from pr_api import flows
from pr_api.models import InvoiceLink, PaymentRequestView
from pr_api.routes.payment_requests import change_request

router = APIGatewayHttpRouter()
WRITE = authorize("pr.write")


@router.post(
    "/api/v1/prs/<pr_id>/invoices",
    responses=ok(PaymentRequestView),
    summary="Link an invoice to the payment request",
    middlewares=[WRITE],
)
def link(pr_id: uuid.UUID, link: InvoiceLink, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_request(
        router,
        pr_id,
        lambda connection, context: flows.link_invoice(
            connection, context, pr_id, link.invoice_id, now=datetime.now(UTC)
        ),
    )


@router.delete(
    "/api/v1/prs/<pr_id>/invoices/<invoice_id>",
    responses=ok(PaymentRequestView),
    summary="Unlink an invoice",
    middlewares=[WRITE],
)
def unlink(pr_id: uuid.UUID, invoice_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_request(
        router,
        pr_id,
        lambda connection, context: flows.unlink_invoice(connection, context, pr_id, invoice_id, now=datetime.now(UTC)),
    )
