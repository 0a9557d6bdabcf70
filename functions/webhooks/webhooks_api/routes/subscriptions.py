"""Webhook subscriptions: create (the secret shown once), read, list, change, delete, rotate the secret."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.db import get_engine, read_connection
from payreq.errors import BadRequest
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_newest_first, newest_first_page
from payreq.http.responses import created, json_response, no_content, ok
from payreq.http.versioning import IfMatch, etag, expected_version
from webhooks_api import dependencies, flows, repository
from webhooks_api.models import (
    NewSubscription,
    SubscriptionChanges,
    SubscriptionView,
    SubscriptionWithSecret,
)

router = APIGatewayHttpRouter()
# Webhooks send every change of the types chosen, whoever may read it: managing them is checked
# against the database on every request, never a cached grant.
MANAGE = authorize("webhooks.manage", recheck=True)
_SHOWN_ONCE = " The response carries the signing secret, shown this once; it is not stored for Idempotency-Key replays."


def now() -> datetime:
    return datetime.now(UTC)


def respond(connection: Connection, subscription_id: uuid.UUID) -> Response[Any]:
    current = SubscriptionView.model_validate(flows.get(connection, subscription_id))
    return json_response(HTTPStatus.OK, current, headers={"ETag": etag(current.version)})


def respond_with_secret(outcome: flows.WithSecret, status: int) -> Response[Any]:
    shown = SubscriptionWithSecret.model_validate({**_fields(outcome.subscription), "secret": outcome.secret})
    headers = {"ETag": etag(shown.version), "Cache-Control": "no-store"}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/webhooks/{shown.id}"
    return json_response(status, shown, headers=headers)


def _fields(record: object) -> dict[str, Any]:
    return SubscriptionView.model_validate(record).model_dump()


def _no_idempotency_key() -> None:
    # A stored response would keep the secret in clear in the database: these changes are not replayable.
    if router.current_event.headers.get("idempotency-key") is not None:
        raise BadRequest(
            "This response carries a secret and is never stored: send it without Idempotency-Key.",
            code="idempotency_not_supported",
        )


@router.post(
    "/api/v1/webhooks",
    summary="Subscribe a receiver to events",
    description="Events are delivered as Standard Webhooks (signed, retried, replayable)." + _SHOWN_ONCE,
    responses=created(SubscriptionWithSecret),
    middlewares=[MANAGE],
)
def create(request: NewSubscription) -> Response[Any]:
    _no_idempotency_key()
    checks, box = dependencies.checks(), dependencies.secret_box()
    return change_and_respond(
        router,
        lambda connection, context: flows.create(connection, context, request, checks=checks, box=box, now=now()),
        lambda _, outcome: respond_with_secret(outcome, HTTPStatus.CREATED),
    )


@router.get("/api/v1/webhooks", summary="Webhook subscriptions, newest first", middlewares=[MANAGE])
def list_subscriptions(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[SubscriptionView]:
    after = decode_newest_first(cursor)
    with read_connection(get_engine()) as connection:
        rows, next_cursor = newest_first_page(
            repository.subscriptions_page(connection, limit=limit + 1, after=after), limit
        )
    return Page[SubscriptionView](items=[SubscriptionView.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/api/v1/webhooks/<subscription_id>",
    summary="A webhook subscription",
    responses=ok(SubscriptionView),
    middlewares=[MANAGE],
)
def get_subscription(subscription_id: uuid.UUID) -> Response[Any]:
    with read_connection(get_engine()) as connection:
        return respond(connection, subscription_id)


@router.patch(
    "/api/v1/webhooks/<subscription_id>",
    summary="Change, disable or enable a subscription (If-Match)",
    responses=ok(SubscriptionView),
    middlewares=[MANAGE],
)
def change(
    subscription_id: uuid.UUID,
    changes: SubscriptionChanges,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    version, checks = expected_version(router), dependencies.checks()
    return change_and_respond(
        router,
        lambda connection, context: flows.change(
            connection, context, subscription_id, changes, version=version, checks=checks, now=now()
        ),
        lambda connection, _: respond(connection, subscription_id),
    )


@router.delete(
    "/api/v1/webhooks/<subscription_id>",
    summary="Delete a subscription and its delivery log",
    responses={HTTPStatus.NO_CONTENT: {"description": "Deleted"}},
    middlewares=[MANAGE],
)
def delete(subscription_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.delete(connection, context, subscription_id),
        lambda _connection, _outcome: no_content(),
    )


@router.post(
    "/api/v1/webhooks/<subscription_id>/rotate-secret",
    summary="Rotate the signing secret",
    description="The previous secret keeps signing beside the new one (two signatures) until "
    "`previousSecretExpiresAt`, so a receiver can switch without missing a message." + _SHOWN_ONCE,
    responses=ok(SubscriptionWithSecret),
    middlewares=[MANAGE],
)
def rotate_secret(subscription_id: uuid.UUID) -> Response[Any]:
    _no_idempotency_key()
    box, overlap = dependencies.secret_box(), dependencies.rotation_overlap()
    return change_and_respond(
        router,
        lambda connection, context: flows.rotate_secret(
            connection, context, subscription_id, box=box, overlap=overlap, now=now()
        ),
        lambda _, outcome: respond_with_secret(outcome, HTTPStatus.OK),
    )
