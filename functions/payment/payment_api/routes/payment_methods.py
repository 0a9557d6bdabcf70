"""Payment methods: how a payee is paid (masked details only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payment_api import flows, repository
from payment_api.models import NewPaymentMethod, PaymentMethod, PaymentMethodChanges
from payment_api.records import MethodFilter
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey
from payreq.http.resources import Resource, read

router = APIGatewayHttpRouter()
READ, WRITE = authorize("payment.read"), authorize("payment.write")
METHODS = Resource(
    router, "/api/v1/payment-methods", "method_id", PaymentMethod, flows.method_view, read=READ, write=WRITE
)


@METHODS.lists("Payment methods, by payee")
def list_methods(payee: str | None = None, include_deleted: bool = False) -> list[PaymentMethod]:
    which = MethodFilter(payee=payee, include_deleted=include_deleted)
    return [PaymentMethod.model_validate(method) for method in read(lambda c: repository.methods(c, which))]


METHODS.create_route("add_method", "Add a payment method", ("request", NewPaymentMethod), flows.add_method)
METHODS.read_route("get_method", "A payment method (deleted ones stay readable)")
METHODS.change_route("change_method", "Change a payment method (If-Match)", PaymentMethodChanges, flows.change_method)


@METHODS.removes("Remove a payment method (soft delete)", removed="Removed")
def remove_method(method_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return METHODS.remove(
        lambda connection, context: flows.remove_method(connection, context, method_id, now=datetime.now(UTC))
    )
