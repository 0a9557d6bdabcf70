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
from payreq.http.versioning import IfMatch

router = APIGatewayHttpRouter()
METHODS = Resource(
    router,
    "/api/v1/payment-methods",
    "method_id",
    PaymentMethod,
    flows.method_view,
    read=authorize("payment.read"),
    write=authorize("payment.write"),
)


@METHODS.lists("Payment methods, by payee")
def list_methods(payee: str | None = None, include_deleted: bool = False) -> list[PaymentMethod]:
    which = MethodFilter(payee=payee, include_deleted=include_deleted)
    return [PaymentMethod.model_validate(method) for method in read(lambda c: repository.methods(c, which))]


@METHODS.creates("Add a payment method")
def add_method(request: NewPaymentMethod, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return METHODS.create(
        lambda connection, context: flows.add_method(connection, context, request, now=datetime.now(UTC))
    )


@METHODS.reads("A payment method (deleted ones stay readable)")
def get_method(method_id: uuid.UUID) -> Response[Any]:
    return METHODS.get(method_id)


@METHODS.changes("Change a payment method (If-Match)")
def change_method(
    method_id: uuid.UUID,
    changes: PaymentMethodChanges,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    return METHODS.change_read_version(
        method_id,
        lambda connection, context, version: flows.change_method(
            connection, context, method_id, changes, version=version, now=datetime.now(UTC)
        ),
    )


@METHODS.removes("Remove a payment method (soft delete)", removed="Removed")
def remove_method(method_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return METHODS.remove(
        lambda connection, context: flows.remove_method(connection, context, method_id, now=datetime.now(UTC))
    )
