"""Linking invoices to payment requests (an invoice belongs to at most one)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payreq.http.mutations import IdempotencyKey
from payreq.http.responses import ok
from pr_api import flows
from pr_api.models import InvoiceLink, PaymentRequestView
from pr_api.routes.payment_requests import REQUESTS, WRITE

if TYPE_CHECKING:
    from collections.abc import Callable

router = APIGatewayHttpRouter()


def _linking(method: str, path: str, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A route that answers the payment request as the link or unlink left it."""
    return router.route(path, method, summary=summary, responses=ok(PaymentRequestView), middlewares=[WRITE])


@_linking("POST", "/api/v1/prs/<pr_id>/invoices", "Link an invoice to the payment request")
def link(pr_id: uuid.UUID, link: InvoiceLink, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return REQUESTS.change(
        pr_id,
        lambda connection, context: flows.link_invoice(
            connection, context, pr_id, link.invoice_id, now=datetime.now(UTC)
        ),
    )


@_linking("DELETE", "/api/v1/prs/<pr_id>/invoices/<invoice_id>", "Unlink an invoice")
def unlink(pr_id: uuid.UUID, invoice_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return REQUESTS.change(
        pr_id,
        lambda connection, context: flows.unlink_invoice(connection, context, pr_id, invoice_id, now=datetime.now(UTC)),
    )
