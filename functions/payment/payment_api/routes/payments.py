"""Payments recorded against approved payment requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payment_api import flows
from payment_api.models import NewPayment, Payment, VoidPayment
from payment_api.records import PaymentFilter
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page
from payreq.http.resources import read, read_page
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
    return change_and_respond(
        router,
        lambda connection, context: flows.record_payment(connection, context, pr_id, request, now=datetime.now(UTC)),
        lambda connection, payment_id: json_response(
            HTTPStatus.CREATED,
            flows.payment_view(connection, payment_id),
            headers={"Location": f"/api/v1/payments/{payment_id}"},
        ),
    )


@router.post(
    "/api/v1/payments/<payment_id>/void",
    responses=ok(Payment),
    summary="Void a payment, with a reason",
    middlewares=[WRITE],
)
def void(payment_id: uuid.UUID, request: VoidPayment, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.void_payment(
            connection, context, payment_id, request.reason, now=datetime.now(UTC)
        ),
        lambda connection, _: json_response(HTTPStatus.OK, flows.payment_view(connection, payment_id)),
    )


@router.get("/api/v1/payments", summary="Payments, newest first", middlewares=[READ])
def list_payments(
    pr_id: Annotated[uuid.UUID | None, Query(alias="prId")] = None,
    method_id: Annotated[uuid.UUID | None, Query(alias="methodId")] = None,
    include_voided: Annotated[bool, Query(alias="includeVoided")] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Payment]:
    which = PaymentFilter(pr_id=pr_id, method_id=method_id, include_voided=include_voided)
    return read_page(Page[Payment], flows.page_of, which, limit=limit, cursor=cursor)


@router.get("/api/v1/payments/<payment_id>", summary="A payment", middlewares=[READ])
def get_payment(payment_id: uuid.UUID) -> Payment:
    return read(lambda connection: flows.payment_view(connection, payment_id))
