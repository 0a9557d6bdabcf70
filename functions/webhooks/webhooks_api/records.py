"""The rows this function reads, as typed records (`payreq.db.records.record_of`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payreq.db.records import record

if TYPE_CHECKING:
    import uuid
    from datetime import datetime


@record
class Subscription:
    id: uuid.UUID
    owner_id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    secret_ciphertext: bytes
    previous_secret_ciphertext: bytes | None
    previous_secret_expires_at: datetime | None
    failed_deliveries_in_a_row: int
    created_at: datetime
    updated_at: datetime
    version: int


@record
class Delivery:
    id: uuid.UUID
    seq: int
    subscription_id: uuid.UUID
    outbox_id: int | None
    message_id: str
    event_type: str
    payload: str
    replay_of: uuid.UUID | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    response_status: int | None
    latency_ms: int | None
    last_error: str | None
    created_at: datetime


@record
class OutboxEvent:
    """An outbox row, as the dispatcher reads it."""

    id: int
    event_id: uuid.UUID
    occurred_at: datetime
    entity: str
    entity_id: str
    op: str
    version: int | None
    action: str | None

    @property
    def event_type(self) -> str:
        return self.action or f"{self.entity}.{self.op}"
