"""Live sync over HTTP: a ticket to open the WebSocket, and the changes a reconnecting client missed."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payreq.auth.live_connections import credential_key
from payreq.broadcast import READ_PERMISSION, change_message
from payreq.db import get_engine, read_connection, transaction
from payreq.http import authorize, request_context
from payreq.http.pagination import MAX_LIMIT
from payreq.http.responses import created, json_response
from sync_api import connections
from sync_api.models import Change, Changes, SyncTicket

router = APIGatewayHttpRouter()
SIGNED_IN = authorize(None)
# A ticket is a credential: minted only for a credential that is valid now, by the database.
SIGNED_IN_NOW = authorize(None, recheck=True)


@router.post(
    "/api/v1/sync/ticket",
    summary="A single-use ticket for the WebSocket's $connect (?ticket=...), valid 30 seconds",
    responses=created(SyncTicket),
    middlewares=[SIGNED_IN_NOW],
)
def ticket() -> Response[Any]:
    context = request_context(router)
    assert context.user_id is not None
    holder = connections.Holder(
        context.user_id, context.permissions, credential_key(context.auth_method, context.credential_id)
    )
    with transaction(get_engine()) as connection:
        issued = connections.issue_ticket(connection, holder, now=datetime.now(UTC))
    return json_response(
        HTTPStatus.CREATED,
        SyncTicket(ticket=issued.secret, expires_at=issued.expires_at),
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/v1/sync/changes",
    summary="Changes after a cursor (the outbox id), limited to what the caller may read",
    middlewares=[SIGNED_IN],
)
def changes(
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
) -> Changes:
    context = request_context(router)
    entities = [entity for entity, permission in READ_PERMISSION.items() if context.can(permission)]
    with read_connection(get_engine()) as connection:
        latest = connections.latest_cursor(connection)
        rows = connections.changes_since(connection, since, latest, entities=entities, limit=limit) if entities else []
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        Change.model_validate(
            change_message(row, dict(zip(row.topics, row.topic_seqs, strict=False)) if row.topic_seqs else None)
        )
        for row in rows
    ]
    # With nothing (readable) left, the cursor jumps to the newest change: the next call starts there.
    cursor = rows[-1].id if more else max(latest, since)
    return Changes(items=items, cursor=cursor, has_more=more)
