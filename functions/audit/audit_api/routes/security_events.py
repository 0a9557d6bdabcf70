"""Security events: sign-ins and failures, sign-outs, tokens issued and revoked, denials, bad tokens."""

from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from audit_api.models import SecurityEvent
from audit_api.repository import EventFilter
from audit_api.routes.event_pages import events_page
from payreq.audit import SecurityAction
from payreq.http import authorize
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIGatewayHttpRouter()


@router.get("/api/v1/security-events", summary="Security events, newest first", middlewares=[authorize("audit.read")])
def list_security_events(
    user: Annotated[uuid.UUID | None, Query(description="the acting user")] = None,
    ip: Annotated[str | None, Query(description="the caller's source IP")] = None,
    kind: Annotated[SecurityAction | None, Query(description="the event's action")] = None,
    occurred_from: Annotated[AwareDatetime | None, Query(alias="from", description="inclusive")] = None,
    occurred_to: Annotated[AwareDatetime | None, Query(alias="to", description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[SecurityEvent]:
    events, next_cursor = events_page(
        SecurityEvent.from_record,
        EventFilter(category="security", actor_id=user, source_ip=ip, action=kind),
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        limit=limit,
        cursor=cursor,
    )
    return Page[SecurityEvent](items=events, next_cursor=next_cursor)
