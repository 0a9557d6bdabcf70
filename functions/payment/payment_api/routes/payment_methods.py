"""Payment methods: how a payee is paid (masked details only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payment_api import flows, repository
from payment_api.models import NewPaymentMethod, PaymentMethod, PaymentMethodChanges
from payment_api.records import MethodFilter
from payreq.db import get_engine, read_connection
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.responses import created, json_response, no_content, ok
from payreq.http.versioning import IfMatch, etag, expected_version

router = APIGatewayHttpRouter()
READ, WRITE = authorize("payment.read"), authorize("payment.write")


def respond(connection: Connection, method_id: uuid.UUID, status: int = HTTPStatus.OK) -> Response[Any]:
    method = flows.method_view(connection, method_id)
    headers = {"ETag": etag(method.version)}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/payment-methods/{method_id}"
    return json_response(status, method, headers=headers)


@router.get("/api/v1/payment-methods", summary="Payment methods, by payee", middlewares=[READ])
def list_methods(payee: str | None = None, include_deleted: bool = False) -> list[PaymentMethod]:
    with read_connection(get_engine()) as connection:
        methods = repository.methods(connection, MethodFilter(payee=payee, include_deleted=include_deleted))
    return [PaymentMethod.model_validate(method) for method in methods]


@router.post(
    "/api/v1/payment-methods", summary="Add a payment method", responses=created(PaymentMethod), middlewares=[WRITE]
)
def add_method(request: NewPaymentMethod, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.add_method(connection, context, request, now=datetime.now(UTC)),
        lambda connection, method_id: respond(connection, method_id, HTTPStatus.CREATED),
    )


@router.get(
    "/api/v1/payment-methods/<method_id>",
    responses=ok(PaymentMethod),
    summary="A payment method (deleted ones stay readable)",
    middlewares=[READ],
)
def get_method(method_id: uuid.UUID) -> Response[Any]:
    with read_connection(get_engine()) as connection:
        return respond(connection, method_id)


@router.patch(
    "/api/v1/payment-methods/<method_id>",
    responses=ok(PaymentMethod),
    summary="Change a payment method (If-Match)",
    middlewares=[WRITE],
)
def change_method(
    method_id: uuid.UUID,
    changes: PaymentMethodChanges,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    version = expected_version(router)
    return change_and_respond(
        router,
        lambda connection, context: flows.change_method(
            connection, context, method_id, changes, version=version, now=datetime.now(UTC)
        ),
        lambda connection, _: respond(connection, method_id),
    )


@router.delete(
    "/api/v1/payment-methods/<method_id>",
    summary="Remove a payment method (soft delete)",
    responses={HTTPStatus.NO_CONTENT: {"description": "Removed"}},
    middlewares=[WRITE],
)
def remove_method(method_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.remove_method(connection, context, method_id, now=datetime.now(UTC)),
        lambda _connection, _: no_content(),
    )
