"""The rows the audit function reads, as typed records (`payreq.db.records.record_of`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payreq.db.records import record

if TYPE_CHECKING:
    import uuid
    from datetime import datetime


@record
class AuditEventRecord:
    """One event of the audit log: `id` is the row's, `event_id` the event's own; `seq` and `hash`
    are its place in the chain."""

    # Its place in the chain.
    id: int
    seq: int
    hash: bytes
    # What happened, to what.
    event_id: uuid.UUID
    category: str
    action: str
    entity_type: str | None
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    # When, by whom, from where.
    occurred_at: datetime
    actor_id: uuid.UUID | None
    request_id: str | None
    source_ip: str | None
    user_agent: str | None
