"""Bodies of the sync function's HTTP routes."""

from __future__ import annotations

from datetime import datetime

from payreq.http.models import ApiModel


class SyncTicket(ApiModel):
    """A single-use ticket for `$connect` (`wss://.../?ticket=...`), valid for 30 seconds."""

    ticket: str
    expires_at: datetime


class Change(ApiModel):
    type: str = "change"
    entity: str
    id: str
    version: int | None
    op: str
    at: datetime
    event_id: str
    cursor: int
    # Each topic's sequence number, once the broadcaster has delivered the change.
    seq: dict[str, int] | None = None


class Changes(ApiModel):
    """Changes after a cursor, oldest first; ask again with `cursor` while `hasMore`."""

    items: list[Change]
    cursor: int
    has_more: bool
