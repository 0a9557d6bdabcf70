"""Anonymous traffic cannot flood the audit chain: refusals are counted per source, kind, route and
minute; the chain gets the first of each window at once and the window's total once it has closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from payreq import denials
from payreq.db import transaction
from payreq.db.schema import audit_events, denial_windows
from payreq.denials import KEEP_COUNTS, WINDOW, forget_old_windows, summarise_closed_windows, window_start
from support.api_client import ApiClient

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@pytest.fixture(autouse=True)
def refusals_in_one_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's refusals land in one window, as they would in a minute no test straddles: fifty
    requests that crossed a minute's end would rightly make two windows and two events each."""
    moment = window_start(datetime.now(UTC)) + WINDOW / 2

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            return moment  # type: ignore[return-value]

    monkeypatch.setattr(denials, "datetime", Clock)


def chain_length(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(audit_events)) or 0)


def security_events(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.after)
            .where(audit_events.c.category == "security")
            .order_by(audit_events.c.seq)
        )
        return [(row.action, row.after) for row in rows]


def test_fifty_junk_bearer_requests_add_two_events_not_a_hundred(database_url: str, engine: Engine) -> None:
    # Given an anonymous client with a made-up token
    junk = ApiClient(headers={"Authorization": "Bearer prq_made-up"}, source_ip="203.0.113.9")
    before = chain_length(engine)

    # When it sends fifty requests
    answers = [junk.get("/api/v1/prs").status for _ in range(50)]

    # Then each is refused, each is counted, and the chain grew by one event per kind of refusal
    assert answers == [401] * 50
    assert chain_length(engine) - before == 2
    with engine.connect() as connection:
        counted = connection.execute(
            select(denial_windows.c.action, denial_windows.c.kind, denial_windows.c.route, denial_windows.c.count)
        ).all()
    assert sorted(counted) == [
        ("access_denied", "unknown_token", "GET /api/v1/prs", 50),
        ("bad_token", "unknown_token", "GET /api/v1/prs", 50),
    ]


def test_a_closed_window_goes_into_the_chain_once_with_its_total(database_url: str, engine: Engine) -> None:
    # Given twenty refusals from one source in one minute (each a bad credential and a denied route)
    junk = ApiClient(headers={"Authorization": "Bearer prq_made-up"}, source_ip="203.0.113.9")
    for _ in range(20):
        assert junk.get("/api/v1/invoices").status == 401

    # When the window has closed and the summary runs (the anchor job, or the next refusal), twice
    later = datetime.now(UTC) + 2 * WINDOW
    with transaction(engine) as connection:
        first = summarise_closed_windows(connection, now=later)
    with transaction(engine) as connection:
        again = summarise_closed_windows(connection, now=later + timedelta(minutes=5))

    # Then the chain holds the first refusal and one event with the window's total, once
    assert (first, again) == (2, 0)
    refusals = [details for action, details in security_events(engine) if action == "access_denied"]
    assert [(d["count"], d.get("summary", False), d["route"]) for d in refusals] == [
        (1, False, "GET /api/v1/invoices"),
        (20, True, "GET /api/v1/invoices"),
    ]

    # And a day later the counts, all in the chain by then, are forgotten
    with transaction(engine) as connection:
        assert forget_old_windows(connection, now=later + KEEP_COUNTS) == 2


def test_each_source_is_counted_on_its_own(database_url: str, engine: Engine) -> None:
    for source in ("203.0.113.1", "203.0.113.2", "203.0.113.1"):
        assert ApiClient(source_ip=source).get("/api/v1/payments").status == 401

    with engine.connect() as connection:
        counted = connection.execute(
            select(denial_windows.c.source, denial_windows.c.count).where(denial_windows.c.action == "access_denied")
        ).all()

    assert sorted(counted) == [("203.0.113.1", 2), ("203.0.113.2", 1)]
