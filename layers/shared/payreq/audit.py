"""The audit writer: every change and every security event, in the transaction of the change.

Events are appended to `audit_events`, which the database itself keeps append-only, and each is
chained to the one before by a hash (`payreq.audit_chain`). A change stores only what differs
between before and after, so the log stays compact and readable; secrets are redacted.

Appending takes the chain's lock, held until the transaction ends: record audit events as late in a
transaction as you can (after your own row locks), so other audited transactions wait least.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import to_jsonable_python
from sqlalchemy import select

from payreq.audit_chain import append_event, stored_json
from payreq.card_numbers import mask
from payreq.db.schema import audit_events
from payreq.jsonable import redacted
from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.engine import Connection, Engine

    from payreq.context import RequestContext

SecurityAction = Literal[
    "login_succeeded",
    "login_failed",
    "logout",
    "token_issued",
    "token_revoked",
    "access_denied",
    "bad_token",
    "test_login",
    "audit_exported",
    # An upload the attachment could not take: a later version of a recorded file (a re-posted
    # form), or a first file arriving after the invoice was verified, paid or rejected.
    "attachment_replaced",
    "attachment_too_late",
    "identity_linked",
]


def changed_fields(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Only the fields that differ; a create keeps all of `after`, a delete all of `before`.

    Compared before secrets are masked, so a changed secret (a new card number) shows as a changed
    field, never with its value: both sides read "[redacted]".
    """
    old, new = to_jsonable_python(dict(before)) if before else None, to_jsonable_python(dict(after)) if after else None
    if old is None or new is None:
        return redacted(old) if old else None, redacted(new) if new else None
    keys = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    return redacted({key: old.get(key) for key in keys}), redacted({key: new.get(key) for key in keys})


def record_change(
    connection: Connection,
    context: RequestContext,
    *,
    action: str,
    entity_type: str,
    entity_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> uuid.UUID:
    old, new = changed_fields(before, after)
    return _append(
        connection,
        context,
        category="change",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=old,
        after=new,
    )


def record_security_event(
    connection: Connection,
    context: RequestContext,
    action: SecurityAction,
    details: Mapping[str, Any] | None = None,
    *,
    entity_type: str | None = None,
    entity_id: object = None,
) -> uuid.UUID:
    """A security event; one about an entity (an invoice's refused upload) names it, so the entity's
    own history shows it."""
    return _append(
        connection,
        context,
        category="security",
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=None,
        after=redacted(dict(details)) if details else None,
    )


def security_event_recorded(
    connection: Connection, action: SecurityAction, *, entity_type: str, entity_id: object, details: Mapping[str, Any]
) -> bool:
    """Whether this entity already has a security event of `action` whose details include `details`:
    for an event to be recorded once however often its cause repeats (an S3 event redelivered)."""
    found = connection.scalar(
        select(audit_events.c.id)
        .where(
            audit_events.c.entity_type == entity_type,
            audit_events.c.entity_id == str(entity_id),
            audit_events.c.category == "security",
            audit_events.c.action == action,
            audit_events.c.after.contains(redacted(dict(details))),
        )
        .limit(1)
    )
    return found is not None


def record_security_event_now(
    engine: Engine, context: RequestContext, action: SecurityAction, details: Mapping[str, Any] | None = None
) -> None:
    """Record a security event in a transaction of its own, for events that must outlive the
    request's (a denial is recorded even though the request it denies writes nothing).

    A failure to record is logged, never raised: it must not turn a clean 401/403 into a 500.
    """
    try:
        with engine.begin() as connection:
            record_security_event(connection, context, action, details)
    except Exception:
        logger.exception("could not record security event", extra={"security_action": action})


def _append(
    connection: Connection,
    context: RequestContext,
    *,
    category: Literal["change", "security"],
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> uuid.UUID:
    event_id = uuid.uuid4()
    event = {
        "event_id": event_id,
        # Set here, not by the database's now(): the hash covers it, so it must be known before insert.
        "occurred_at": datetime.now(UTC),
        "category": category,
        "action": action,
        "actor_id": context.user_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        # As JSONB will give them back, so the hash is reproducible from the row.
        "before": stored_json(before),
        "after": stored_json(after),
        "request_id": context.request_id,
        "source_ip": context.source_ip,
        # A header is free text too: what reaches the append-only log must hold no card number.
        "user_agent": mask(context.user_agent) if context.user_agent else None,
    }
    append_event(connection, event)
    return event_id
