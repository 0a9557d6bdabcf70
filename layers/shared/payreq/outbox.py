"""The outbox writer: announces a change in the same transaction as the change.

The broadcaster delivers rows to WebSocket clients only after commit, so a rolled-back change
is never announced and a committed one is never lost.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Literal

from sqlalchemy import insert

from payreq.db.schema import outbox

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

Operation = Literal["created", "updated", "deleted"]


def default_topics(entity: str, entity_id: str) -> list[str]:
    """The collection topic (`prs`) and the entity's own topic (`pr:<id>`)."""
    return [f"{entity}s", f"{entity}:{entity_id}"]


def publish_change(
    connection: Connection,
    *,
    entity: str,
    entity_id: object,
    op: Operation,
    version: int | None = None,
    topics: Sequence[str] | None = None,
) -> uuid.UUID:
    event_id = uuid.uuid4()
    key = str(entity_id)
    connection.execute(
        insert(outbox).values(
            event_id=event_id,
            entity=entity,
            entity_id=key,
            op=op,
            version=version,
            topics=list(topics) if topics is not None else default_topics(entity, key),
        )
    )
    return event_id
