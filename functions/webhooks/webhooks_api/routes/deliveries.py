"""A subscription's delivery log, and replays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page
from payreq.http.resources import read_page
from payreq.http.responses import json_response
from webhooks_api import flows
from webhooks_api.models import DeliveryView
from webhooks_api.routes.subscriptions import MANAGE

router = APIGatewayHttpRouter()


def view(delivery: object) -> DeliveryView:
    shown = DeliveryView.model_validate(delivery)
    # Only a pending delivery has a next attempt.
    return shown if shown.status == "pending" else shown.model_copy(update={"next_attempt_at": None})


@router.get(
    "/api/v1/webhooks/<subscription_id>/deliveries",
    summary="The delivery log of a subscription, newest first",
    middlewares=[MANAGE],
)
def list_deliveries(
    subscription_id: uuid.UUID, limit: Limit = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[DeliveryView]:
    def page(connection: Connection) -> tuple[list[DeliveryView], str | None]:
        deliveries, next_cursor = flows.delivery_log(connection, subscription_id, limit=limit, cursor=cursor)
        return [view(delivery) for delivery in deliveries], next_cursor

    return read_page(Page[DeliveryView], page)


@router.post(
    "/api/v1/webhooks/<subscription_id>/deliveries/<delivery_id>/replay",
    summary="Send a delivery's message again",
    description="A new delivery of the same message (same `webhook-id` and body, signed afresh), queued after the "
    "subscription's pending ones. 409 while the subscription is disabled.",
    responses={
        HTTPStatus.ACCEPTED: {"description": "Queued", "content": {"application/json": {"model": DeliveryView}}}
    },
    middlewares=[MANAGE],
)
def replay(subscription_id: uuid.UUID, delivery_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.replay(
            connection, context, subscription_id, delivery_id, now=datetime.now(UTC)
        ),
        lambda _, replayed: json_response(HTTPStatus.ACCEPTED, view(replayed)),
    )
