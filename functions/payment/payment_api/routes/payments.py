"""Payments recorded against approved payment requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payment_api import flows
from payment_api.models import NewPayment, Payment, VoidPayment
from payreq.db import get_engine, read_connection
from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey, run_change
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from payreq.http.responses import created, json_response, ok

router = APIGatewayHttpRouter()
READ, WRITE = authorize("payment.read"), authorize("payment.write")


@router.post(
    "/api/v1/prs/<pr_id>/payments",
    summary="Record a payment against an approved request",
    responses=created(Payment),
    middlewares=[WRITE],
)
def record(pr_id: uuid.UUID, request: NewPayment, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        payment_id = flows.record_payment(connection, context, pr_id, request, now=datetime.now(UTC))
        return json_response(
            HTTPStatus.CREATED,
            flows.payment_view(connection, payment_id),
            headers={"Location": f"/api/v1/payments/{payment_id}"},
        )

    return run_change(router, get_engine(), change)


@router.post(
    "/api/v1/payments/<payment_id>/void",
    responses=ok(Payment),
    summary="Void a payment, with a reason",
    middlewares=[WRITE],
)
def void(payment_id: uuid.UUID, request: VoidPayment, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        flows.void_payment(connection, context, payment_id, request.reason, now=datetime.now(UTC))
        return json_response(HTTPStatus.OK, flows.payment_view(connection, payment_id))

    return run_change(router, get_engine(), change)


@router.get("/api/v1/payments", summary="Payments, newest first", middlewares=[READ])
def list_payments(
    pr_id: Annotated[uuid.UUID | None, Query(alias="prId")] = None,
    method_id: Annotated[uuid.UUID | None, Query(alias="methodId")] = None,
    include_voided: Annotated[bool, Query(alias="includeVoided")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Payment]:
    with read_connection(get_engine()) as connection:
        items, next_cursor = flows.page_of(
            connection, pr_id=pr_id, method_id=method_id, include_voided=include_voided, limit=limit, cursor=cursor
        )
    return Page[Payment](items=items, next_cursor=next_cursor)


@router.get("/api/v1/payments/<payment_id>", summary="A payment", middlewares=[READ])
def get_payment(payment_id: uuid.UUID) -> Payment:
    with read_connection(get_engine()) as connection:
        return flows.payment_view(connection, payment_id)
