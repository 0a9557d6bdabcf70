"""Linking invoices to payment requests (an invoice belongs to at most one)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.db import get_engine
from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey, run_change
from payreq.http.responses import ok
from pr_api import flows
from pr_api.models import InvoiceLink, PaymentRequestView
from pr_api.routes.payment_requests import respond

router = APIGatewayHttpRouter()
WRITE = authorize("pr.write")


@router.post(
    "/api/v1/prs/<pr_id>/invoices",
    responses=ok(PaymentRequestView),
    summary="Link an invoice to the payment request",
    middlewares=[WRITE],
)
def link(pr_id: uuid.UUID, link: InvoiceLink, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        flows.link_invoice(connection, context, pr_id, link.invoice_id, now=datetime.now(UTC))
        return respond(connection, pr_id)

    return run_change(router, get_engine(), change)


@router.delete(
    "/api/v1/prs/<pr_id>/invoices/<invoice_id>",
    responses=ok(PaymentRequestView),
    summary="Unlink an invoice",
    middlewares=[WRITE],
)
def unlink(pr_id: uuid.UUID, invoice_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        flows.unlink_invoice(connection, context, pr_id, invoice_id, now=datetime.now(UTC))
        return respond(connection, pr_id)

    return run_change(router, get_engine(), change)
