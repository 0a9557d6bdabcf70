"""Security events: sign-ins and failures, sign-outs, tokens issued and revoked, denials, bad tokens."""

from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from audit_api.models import SecurityEvent
from audit_api.repository import EventFilter
from audit_api.routes.event_pages import OccurredFrom, OccurredTo, events_page
from payreq.audit import SecurityAction
from payreq.http import authorize
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page

router = APIGatewayHttpRouter()
# Which security events: one action of `payreq.audit.SecurityAction`, or all of them.
EventKind = Annotated[SecurityAction | None, Query(description="the event's action")]


@router.get("/api/v1/security-events", summary="Security events, newest first", middlewares=[authorize("audit.read")])
def list_security_events(
    user: Annotated[uuid.UUID | None, Query(description="the acting user")] = None,
    ip: Annotated[str | None, Query(description="the caller's source IP")] = None,
    kind: EventKind = None,
    occurred_from: OccurredFrom = None,
    occurred_to: OccurredTo = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[SecurityEvent]:
    where = EventFilter(category="security", actor_id=user, source_ip=ip, action=kind)
    occurred = (occurred_from, occurred_to)
    return events_page(Page[SecurityEvent], SecurityEvent.from_record, where, occurred, limit=limit, cursor=cursor)
