"""Refusals (401, 403, bad credentials, refused sign-ins) as security events that a flood cannot
turn into a flood of the audit chain.

Every append to the chain takes its global lock, and every event is permanent: one event per
anonymous request would let anyone make the log grow, and every audited write wait, at their
request rate. So refusals are counted per (source, action, kind, route) and time window:

- the first of a window is appended at once (with its request id: a lone probe is seen in full);
- the rest of that window only bump the window's count (one row lock on `denial_windows`, never
  the chain's lock);
- once the window has closed, one event with the window's total follows. It is appended by the
  next refusal that takes the chain lock anyway, or by the anchor job (`summarise_closed_windows`),
  so a source takes the chain lock at most once per window and kind and route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from payreq.audit import record_security_event
from payreq.audit_chain import canonical_timestamp
from payreq.context import RequestContext
from payreq.db.records import record, records_of
from payreq.db.schema import denial_windows
from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.engine import Connection, Engine

    from payreq.audit import SecurityAction

WINDOW = timedelta(minutes=1)
# Counts are kept this long after their window, then forgotten: what matters is in the chain by then.
KEEP_COUNTS = timedelta(days=1)
# Closed windows summarised by one refusal that takes the chain lock anyway: bounded, so that
# refusal stays quick; the anchor job summarises the rest.
_SUMMARIES_PER_REFUSAL = 20


@dataclass(frozen=True, slots=True)
class Denial:
    action: SecurityAction
    kind: str  # why: unauthenticated, revoked_token, missing_permission, csrf, bad_state, ...
    route: str  # the route key, `GET /api/v1/prs/{id}`, so varying ids do not split a window
    details: Mapping[str, Any]


@record
class DenialWindow:
    """The refusals of one source, action, kind and route in one window."""

    source: str
    action: str
    kind: str
    route: str
    window_start: datetime
    count: int
    last_request_id: str | None


def window_start(moment: datetime) -> datetime:
    seconds = int(WINDOW.total_seconds())
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def record_denial_now(engine: Engine, context: RequestContext, denial: Denial, *, now: datetime | None = None) -> None:
    """Count `denial` in its own transaction (it must outlive the refused request's), appending to the
    chain only for the first of its window. A failure is logged, never raised: it must not turn a
    clean 401/403 into a 500."""
    moment = now or datetime.now(UTC)
    try:
        with engine.begin() as connection:
            record_denial(connection, context, denial, now=moment)
    except Exception:
        logger.exception("could not record a refusal", extra={"security_action": denial.action, "kind": denial.kind})


def record_denial(connection: Connection, context: RequestContext, denial: Denial, *, now: datetime) -> None:
    start = window_start(now)
    counted = insert(denial_windows).values(
        source=_source(context),
        action=denial.action,
        kind=denial.kind,
        route=denial.route,
        window_start=start,
        count=1,
        last_request_id=context.request_id,
        last_seen_at=now,
    )
    count = connection.scalar(
        counted.on_conflict_do_update(
            index_elements=["source", "action", "kind", "route", "window_start"],
            set_={
                "count": denial_windows.c.count + 1,
                "last_request_id": counted.excluded.last_request_id,
                "last_seen_at": counted.excluded.last_seen_at,
            },
        ).returning(denial_windows.c.count)
    )
    if count != 1:
        return
    # The chain lock is taken once for this window: summarise closed windows under it too.
    summarise_closed_windows(connection, now=now, limit=_SUMMARIES_PER_REFUSAL)
    record_security_event(
        connection,
        context,
        denial.action,
        {
            **denial.details,
            "kind": denial.kind,
            "route": denial.route,
            "window": canonical_timestamp(start),
            "count": 1,
        },
    )


def summarise_closed_windows(connection: Connection, *, now: datetime, limit: int | None = None) -> int:
    """One `<action>` event per closed window that counted more than its first refusal, with the
    window's total; the number of windows summarised. Rows another transaction is summarising are
    skipped, so no window is summarised twice."""
    closed = (
        select(denial_windows)
        .where(
            denial_windows.c.summarised_at.is_(None),
            denial_windows.c.count > 1,
            denial_windows.c.window_start <= window_start(now) - WINDOW,
        )
        .order_by(denial_windows.c.window_start)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        closed = closed.limit(limit)
    windows = records_of(DenialWindow, connection.execute(closed).mappings())
    for window in windows:
        # As if from the window's last refusal: its source and request id, no actor.
        last = RequestContext(request_id=window.last_request_id or "", source_ip=_ip(window.source))
        record_security_event(
            connection,
            last,
            cast("SecurityAction", window.action),
            {
                "kind": window.kind,
                "route": window.route,
                "window": canonical_timestamp(window.window_start),
                "count": window.count,
                "summary": True,
            },
        )
        connection.execute(
            update(denial_windows)
            .where(
                denial_windows.c.source == window.source,
                denial_windows.c.action == window.action,
                denial_windows.c.kind == window.kind,
                denial_windows.c.route == window.route,
                denial_windows.c.window_start == window.window_start,
            )
            .values(summarised_at=now)
        )
    return len(windows)


def forget_old_windows(connection: Connection, *, now: datetime) -> int:
    """Delete the counts of windows older than KEEP_COUNTS whose totals are in the chain (summarised, or
    a lone refusal, whose event is its total); the number deleted."""
    old = denial_windows.c.window_start < now - KEEP_COUNTS
    in_chain = or_(denial_windows.c.summarised_at.is_not(None), denial_windows.c.count == 1)
    return connection.execute(delete(denial_windows).where(old, in_chain)).rowcount


_UNKNOWN_SOURCE = "unknown"


def _source(context: RequestContext) -> str:
    return context.source_ip or _UNKNOWN_SOURCE


def _ip(source: str) -> str | None:
    return None if source == _UNKNOWN_SOURCE else source
