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
from payreq.db import get_engine, read_connection
from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey, run_change
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
        rows = repository.methods(connection, payee=payee, include_deleted=include_deleted)
    return [PaymentMethod.model_validate(dict(row)) for row in rows]


@router.post(
    "/api/v1/payment-methods", summary="Add a payment method", responses=created(PaymentMethod), middlewares=[WRITE]
)
def add_method(request: NewPaymentMethod, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        method_id = flows.add_method(connection, context, request, now=datetime.now(UTC))
        return respond(connection, method_id, HTTPStatus.CREATED)

    return run_change(router, get_engine(), change)


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
    context, version = request_context(router), expected_version(router)

    def change(connection: Connection) -> Response[Any]:
        flows.change_method(connection, context, method_id, changes, version=version, now=datetime.now(UTC))
        return respond(connection, method_id)

    return run_change(router, get_engine(), change)


@router.delete(
    "/api/v1/payment-methods/<method_id>",
    summary="Remove a payment method (soft delete)",
    responses={HTTPStatus.NO_CONTENT: {"description": "Removed"}},
    middlewares=[WRITE],
)
def remove_method(method_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        flows.remove_method(connection, context, method_id, now=datetime.now(UTC))
        return no_content()

    return run_change(router, get_engine(), change)
