"""The dispatcher: turns committed outbox rows into webhook deliveries, one per subscription that
wants the event, numbered in outbox order.

It reads the outbox without touching it (the WebSocket broadcaster's claims and columns stay the
broadcaster's): its own marks say which rows it has fanned out, and a watermark lets it forget them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from webhooks_api import repository
from webhooks_api.payloads import payload

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

# A transaction holding an outbox id commits within this (Lambda's longest timeout): rows scanned
# longer ago have no unseen row below them any more.
SETTLED_AFTER = timedelta(minutes=15)


def fan_out(connection: Connection, *, now: datetime, limit: int = 500) -> int:
    """Fan out up to `limit` outbox rows; returns how many deliveries it made. A concurrent pass
    that holds the lock is left to it (0)."""
    if not repository.lock_fan_out(connection):
        return 0
    below = repository.advance_watermark(connection, settled_before=now - SETTLED_AFTER)
    events = repository.unscanned_events(connection, below=below, limit=limit)
    made = []
    for event in events:
        if event.entity not in repository.ENTITY_TABLES:
            continue
        wanting = repository.subscribers(connection, event)
        if not wanting:
            continue
        body = payload(event, repository.entity_row(connection, event.entity, event.entity_id))
        made += [
            {
                "id": uuid.uuid4(),
                "subscription_id": subscription.id,
                "outbox_id": event.id,
                # The same for every attempt and replay: receivers drop duplicates by it.
                "message_id": f"msg_{event.event_id.hex}",
                "event_type": event.event_type,
                "payload": body,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription in wanting
        ]
    repository.insert_fanned_out(connection, made)
    repository.mark_scanned(connection, [event.id for event in events], now=now)
    return len(made)
