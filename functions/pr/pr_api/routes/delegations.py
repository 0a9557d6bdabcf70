"""Approval delegations: an approver hands their approval rights to another for a while."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page
from payreq.http.resources import Resource, read_page
from pr_api import delegations
from pr_api.models import DelegationView, NewDelegation

router = APIGatewayHttpRouter()


def now() -> datetime:
    return datetime.now(UTC)


def show(connection: Connection, delegation_id: uuid.UUID) -> DelegationView:
    """The delegation as the caller may see it (its delegator, its delegate or a users.admin)."""
    return delegations.view(connection, request_context(router), delegation_id, now=now())


READ, APPROVE = authorize("pr.read"), authorize("pr.approve")
DELEGATIONS = Resource(router, "/api/v1/delegations", "delegation_id", DelegationView, show, read=READ, write=APPROVE)


DELEGATIONS.create_route(
    "create",
    "Delegate your approval rights",
    ("request", NewDelegation),
    delegations.create,
    description="The caller hands their approval rights to another active user who holds pr.approve, from "
    "`startsAt` (now when left out) until `endsAt` (exclusive, at most 366 days later), optionally only for some "
    "approval flow templates or amounts up to a limit. While it is active the delegate may approve or reject the "
    "steps the caller is an approver of, on the caller's behalf (`onBehalfOf`).",
)


@DELEGATIONS.lists("Delegations you gave or received, newest first (all of them for users.admin)")
def list_delegations(limit: Limit = DEFAULT_LIMIT, cursor: str | None = None) -> Page[DelegationView]:
    context = request_context(router)
    return read_page(Page[DelegationView], delegations.page_of, context, limit=limit, cursor=cursor, now=now())


DELEGATIONS.read_route("get_delegation", "A delegation (its delegator, its delegate or a users.admin)")


@DELEGATIONS.acts(
    "revoke",
    "Revoke a delegation",
    description="The delegator or a users.admin ends the delegation now; decisions already made through it stay. "
    "Revoking a revoked delegation changes nothing.",
)
def revoke(delegation_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return DELEGATIONS.change(
        delegation_id, lambda connection, caller: delegations.revoke(connection, caller, delegation_id, now=now())
    )
