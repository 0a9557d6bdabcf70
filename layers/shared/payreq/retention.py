"""How long the rows that matter only for a while are kept, and their purge.

Four tables would otherwise only grow:
- `idempotency_keys`: every write sent with an Idempotency-Key keeps its answer, body included, and
  replays it for 24 hours (`payreq.idempotency.KEEP_FOR`); past that the row is never read again.
- `oauth_logins`: anyone may start a Google sign-in, and each start is a row; past its expiry it
  can no longer be completed.
- `sessions`: one per sign-in. An ended one (expired, idle too long, or revoked) never comes back;
  it is kept `KEEP_ENDED_SESSIONS` for whoever looks into a sign-in, then deleted.
- `outbox_deliveries`: every change is one row per live-sync partition; once delivered (or given
  up) nothing reads it again. Kept `KEEP_DELIVERED` for whoever looks into a missed live update.
  (The outbox itself stays: it is the `GET /api/v1/sync/changes` feed and the webhooks' source.)

The purge deletes in batches of `BATCH` rows, each batch its own transaction (short row locks, no
long transaction on a table every request writes), until nothing expired is left or the deadline
comes; the next run goes on where this one stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, or_, select, tuple_

from payreq.db import transaction
from payreq.db.schema import idempotency_keys, oauth_logins, outbox_deliveries, sessions

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import ColumnElement, Table
    from sqlalchemy.engine import Engine

KEEP_ENDED_SESSIONS = timedelta(days=30)
KEEP_DELIVERED = timedelta(days=1)
BATCH = 1000


@dataclass(frozen=True, slots=True)
class Expiry:
    """Which rows of `table` may go at `now`."""

    name: str
    table: Table
    expired: Callable[[datetime], ColumnElement[bool]]


def _session_ended_before(moment: datetime) -> ColumnElement[bool]:
    s = sessions.c
    return or_(func.least(s.expires_at, s.idle_expires_at) < moment, s.revoked_at < moment)


EXPIRIES = (
    Expiry("idempotency_keys", idempotency_keys, lambda now: idempotency_keys.c.expires_at <= now),
    Expiry("pending_sign_ins", oauth_logins, lambda now: oauth_logins.c.expires_at <= now),
    Expiry("ended_sessions", sessions, lambda now: _session_ended_before(now - KEEP_ENDED_SESSIONS)),
    Expiry(
        "live_sync_deliveries",
        outbox_deliveries,
        lambda now: outbox_deliveries.c.delivered_at < now - KEEP_DELIVERED,
    ),
)


@dataclass(frozen=True, slots=True)
class Purged:
    """Rows deleted per expiry, and whether any are left (the deadline came first)."""

    deleted: dict[str, int]
    finished: bool


def purge(engine: Engine, *, now: datetime, out_of_time: Callable[[], bool], batch: int = BATCH) -> Purged:
    """Delete what has expired at `now`, batch by batch, until none is left or `out_of_time()`."""
    deleted = dict.fromkeys((expiry.name for expiry in EXPIRIES), 0)
    for expiry in EXPIRIES:
        while True:
            if out_of_time():
                return Purged(deleted, finished=False)
            count = _delete_batch(engine, expiry, now=now, batch=batch)
            deleted[expiry.name] += count
            if count < batch:
                break
    return Purged(deleted, finished=True)


def _delete_batch(engine: Engine, expiry: Expiry, *, now: datetime, batch: int) -> int:
    key = tuple_(*expiry.table.primary_key.columns)
    # SKIP LOCKED: a row a request is writing right now (a key being replayed) is left for later.
    expired = (
        select(*expiry.table.primary_key.columns)
        .where(expiry.expired(now))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    with transaction(engine) as connection:
        return int(connection.execute(delete(expiry.table).where(key.in_(expired))).rowcount)
