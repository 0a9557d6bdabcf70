"""Audit events made to order, and tampered with as an attacker with the owner's rights would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from payreq.audit_chain import append_event, stored_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


def audit_event(**fields: Any) -> dict[str, Any]:
    """An event as the writer appends it, with defaults for what a test does not care about."""
    event: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "category": "change",
        "action": "thing.updated",
        "actor_id": None,
        "entity_type": "thing",
        "entity_id": "1",
        "before": None,
        "after": None,
        "request_id": f"req-{uuid.uuid4().hex[:8]}",
        "source_ip": "192.0.2.1",
        "user_agent": "pytest",
    }
    event.update(fields)
    event["before"], event["after"] = stored_json(event["before"]), stored_json(event["after"])
    return event


def append(connection: Connection, **fields: Any) -> dict[str, Any]:
    event = audit_event(**fields)
    link = append_event(connection, event)
    return {**event, "seq": link.seq, "hash": link.hash}


def tamper(engine: Engine, statement: str, **params: object) -> None:
    """What an attacker with the owner's (or a superuser's) rights could do: pause the trigger, rewrite."""
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        connection.execute(text(statement), params)
        connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
