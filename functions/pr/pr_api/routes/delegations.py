"""Approval delegations: an approver hands their approval rights to another for a while."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payreq.db import get_engine, read_connection
from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from payreq.http.responses import created, json_response, ok
from payreq.http.versioning import etag
from pr_api import delegations
from pr_api.models import DelegationView, NewDelegation

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext

router = APIGatewayHttpRouter()
READ, APPROVE = authorize("pr.read"), authorize("pr.approve")


def now() -> datetime:
    return datetime.now(UTC)


def respond(
    connection: Connection, context: RequestContext, delegation_id: uuid.UUID, status: int = HTTPStatus.OK
) -> Response[Any]:
    delegation = delegations.view(connection, context, delegation_id, now=now())
    headers = {"ETag": etag(delegation.version)}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/delegations/{delegation_id}"
    return json_response(status, delegation, headers=headers)


@router.post(
    "/api/v1/delegations",
    summary="Delegate your approval rights",
    description="The caller hands their approval rights to another active user who holds pr.approve, from "
    "`startsAt` (now when left out) until `endsAt` (exclusive, at most 366 days later), optionally only for some "
    "approval flow templates or amounts up to a limit. While it is active the delegate may approve or reject the "
    "steps the caller is an approver of, on the caller's behalf (`onBehalfOf`).",
    responses=created(DelegationView),
    middlewares=[APPROVE],
)
def create(request: NewDelegation, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)
    return change_and_respond(
        router,
        lambda connection, caller: delegations.create(connection, caller, request, now=now()),
        lambda connection, delegation_id: respond(connection, context, delegation_id, HTTPStatus.CREATED),
    )


@router.get(
    "/api/v1/delegations",
    summary="Delegations you gave or received, newest first (all of them for users.admin)",
    middlewares=[READ],
)
def list_delegations(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[DelegationView]:
    context = request_context(router)
    with read_connection(get_engine()) as connection:
        items, next_cursor = delegations.page_of(connection, context, limit=limit, cursor=cursor, now=now())
    return Page[DelegationView](items=items, next_cursor=next_cursor)


@router.get(
    "/api/v1/delegations/<delegation_id>",
    responses=ok(DelegationView),
    summary="A delegation (its delegator, its delegate or a users.admin)",
    middlewares=[READ],
)
def get_delegation(delegation_id: uuid.UUID) -> Response[Any]:
    context = request_context(router)
    with read_connection(get_engine()) as connection:
        return respond(connection, context, delegation_id)


@router.post(
    "/api/v1/delegations/<delegation_id>/revoke",
    responses=ok(DelegationView),
    summary="Revoke a delegation",
    description="The delegator or a users.admin ends the delegation now; decisions already made through it stay. "
    "Revoking a revoked delegation changes nothing.",
    middlewares=[APPROVE],
)
def revoke(delegation_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)
    return change_and_respond(
        router,
        lambda connection, caller: delegations.revoke(connection, caller, delegation_id, now=now()),
        lambda connection, _: respond(connection, context, delegation_id),
    )
