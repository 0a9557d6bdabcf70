"""Webhook subscriptions: create (the secret shown once), read, list, change, delete, rotate the secret."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.errors import BadRequest
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page
from payreq.http.resources import Resource, current, read_page
from payreq.http.versioning import IfMatch
from webhooks_api import dependencies, flows
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


def show(connection: Connection, subscription_id: uuid.UUID) -> SubscriptionView:
    return SubscriptionView.model_validate(flows.get(connection, subscription_id))


SUBSCRIPTIONS = Resource(
    router, "/api/v1/webhooks", "subscription_id", SubscriptionView, show, read=MANAGE, write=MANAGE
)


def respond_with_secret(outcome: flows.WithSecret, status: int) -> Response[Any]:
    shown = SubscriptionWithSecret.model_validate({**_fields(outcome.subscription), "secret": outcome.secret})
    location = f"/api/v1/webhooks/{shown.id}" if status == HTTPStatus.CREATED else None
    return current(shown, status, location=location, headers={"Cache-Control": "no-store"})


def _fields(record: object) -> dict[str, Any]:
    return SubscriptionView.model_validate(record).model_dump()


def _no_idempotency_key() -> None:
    # A stored response would keep the secret in clear in the database: these changes are not replayable.
    if router.current_event.headers.get("idempotency-key") is not None:
        raise BadRequest(
            "This response carries a secret and is never stored: send it without Idempotency-Key.",
            code="idempotency_not_supported",
        )


@SUBSCRIPTIONS.creates(
    "Subscribe a receiver to events",
    description="Events are delivered as Standard Webhooks (signed, retried, replayable)." + _SHOWN_ONCE,
    answers=SubscriptionWithSecret,
)
def create(request: NewSubscription) -> Response[Any]:
    _no_idempotency_key()
    checks, box = dependencies.checks(), dependencies.secret_box()
    return change_and_respond(
        router,
        lambda connection, context: flows.create(connection, context, request, checks=checks, box=box, now=now()),
        lambda _, outcome: respond_with_secret(outcome, HTTPStatus.CREATED),
    )


@SUBSCRIPTIONS.lists("Webhook subscriptions, newest first")
def list_subscriptions(limit: Limit = DEFAULT_LIMIT, cursor: str | None = None) -> Page[SubscriptionView]:
    def page(connection: Connection) -> tuple[list[SubscriptionView], str | None]:
        subscriptions, next_cursor = flows.page_of(connection, limit=limit, cursor=cursor)
        return [SubscriptionView.model_validate(found) for found in subscriptions], next_cursor

    return read_page(Page[SubscriptionView], page)


SUBSCRIPTIONS.read_route("get_subscription", "A webhook subscription")


@SUBSCRIPTIONS.changes("Change, disable or enable a subscription (If-Match)")
def change(
    subscription_id: uuid.UUID,
    changes: SubscriptionChanges,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    checks = dependencies.checks()
    return SUBSCRIPTIONS.change_read_version(
        subscription_id,
        lambda connection, context, version: flows.change(
            connection, context, subscription_id, changes, version=version, checks=checks, now=now()
        ),
    )


@SUBSCRIPTIONS.removes("Delete a subscription and its delivery log")
def delete(subscription_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return SUBSCRIPTIONS.remove(lambda connection, context: flows.delete(connection, context, subscription_id))


@SUBSCRIPTIONS.acts(
    "rotate-secret",
    "Rotate the signing secret",
    description="The previous secret keeps signing beside the new one (two signatures) until "
    "`previousSecretExpiresAt`, so a receiver can switch without missing a message." + _SHOWN_ONCE,
    answers=SubscriptionWithSecret,
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
