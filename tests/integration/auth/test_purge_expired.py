"""The hourly purge: expired idempotency keys, pending sign-ins past their expiry, sessions ended
more than 30 days ago and live-sync deliveries made more than a day ago go; everything still in use
stays, and a retry within 24 hours still replays."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text, update

from auth_api.purge import lambda_handler
from payreq import retention
from payreq.db.engine import engine_from_url
from payreq.db.schema import idempotency_keys, oauth_logins, outbox, outbox_deliveries, sessions
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Table
    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient, ApiResponse
    from support.team import Team

BODY = {"title": "Desks", "payee": "Office Co", "amount": "800.00", "currency": "EUR"}
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def create(team: Team, key: str) -> ApiResponse:
    flow = [team.step("Manager", "anyof", team.alice)]
    return team.requester.browser.post(
        "/api/v1/prs", json_body={**BODY, "approvalFlow": flow}, headers={"Idempotency-Key": key}
    )


def backdate(engine: Engine, table: Table, where: Any, **moved: timedelta) -> None:
    """Move the rows' times into the past, as if they had been written that long ago."""
    with engine.begin() as connection:
        connection.execute(update(table).where(where).values({name: func.now() - ago for name, ago in moved.items()}))


def rows(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def run_purge() -> dict[str, Any]:
    return lambda_handler(SCHEDULED, FakeLambdaContext("purge-expired", time_limit_ms=60_000))


def test_only_what_has_expired_is_purged(
    team: Team, client: ApiClient, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given an idempotency key used 25 hours ago and one used an hour ago
    create(team, "yesterday")
    recent = create(team, "an-hour-ago")
    backdate(engine, idempotency_keys, idempotency_keys.c.key == "yesterday", expires_at=timedelta(hours=1))
    # ... a sign-in started and abandoned long ago, and one just started
    assert client.get("/auth/google/login").status == 302
    backdate(engine, oauth_logins, True, expires_at=timedelta(hours=1))
    assert client.get("/auth/google/login").status == 302
    # ... and sessions: one ended 31 days ago, one revoked 31 days ago, one ended 29 days ago, and
    # the team's, in use
    for email in ("ended@example.com", "revoked@example.com", "recent@example.com"):
        signed_in(email, ("pr.read",))
    user = select(text("id")).select_from(text("users")).where(text("email = :email"))
    backdate(
        engine,
        sessions,
        sessions.c.user_id == user.params(email="ended@example.com").scalar_subquery(),
        expires_at=timedelta(days=31),
    )
    backdate(
        engine,
        sessions,
        sessions.c.user_id == user.params(email="revoked@example.com").scalar_subquery(),
        revoked_at=timedelta(days=31),
    )
    backdate(
        engine,
        sessions,
        sessions.c.user_id == user.params(email="recent@example.com").scalar_subquery(),
        expires_at=timedelta(days=29),
    )
    sessions_before = rows(engine, sessions)

    # When the hourly purge runs
    result = run_purge()

    # Then exactly the expired rows are gone
    assert result == {
        "deleted": {"idempotency_keys": 1, "pending_sign_ins": 1, "ended_sessions": 2, "live_sync_deliveries": 0},
        "finished": True,
    }
    assert (rows(engine, idempotency_keys), rows(engine, oauth_logins)) == (1, 1)
    assert rows(engine, sessions) == sessions_before - 2
    # ... the recent key still replays its answer, and the team is still signed in
    again = create(team, "an-hour-ago")
    assert (again.headers["idempotent-replayed"], again.body) == ("true", recent.body)
    assert team.alice.browser.get("/api/v1/me").status == 200


def test_live_sync_deliveries_go_a_day_after_they_were_made(team: Team, engine: Engine) -> None:
    # Given a change, delivered to one partition two days ago, to another an hour ago, and not yet
    # to a third
    create(team, "a-change")
    now = _now(engine)
    with engine.begin() as connection:
        change = connection.scalar(select(func.max(outbox.c.id)))
        connection.execute(
            insert(outbox_deliveries),
            [
                {"outbox_id": change, "partition": 0, "delivered_at": now - timedelta(days=2)},
                {"outbox_id": change, "partition": 1, "delivered_at": now - timedelta(hours=1)},
                {"outbox_id": change, "partition": 2, "delivered_at": None},
            ],
        )

    # When the hourly purge runs
    result = run_purge()

    # Then only the delivery made two days ago is gone; the change itself stays in the feed
    assert result["deleted"]["live_sync_deliveries"] == 1
    with engine.connect() as connection:
        kept = connection.scalars(select(outbox_deliveries.c.partition).order_by(outbox_deliveries.c.partition))
        assert kept.all() == [1, 2]
        assert connection.scalar(select(func.count()).where(outbox.c.id == change)) == 1


def test_a_run_out_of_time_leaves_the_rest_for_the_next(team: Team, engine: Engine) -> None:
    # Given five expired idempotency keys
    for n in range(5):
        create(team, f"old-{n}")
    backdate(engine, idempotency_keys, True, expires_at=timedelta(hours=1))

    # When a run has time for two batches of two
    batches = iter([False, False, True])
    first = retention.purge(engine, now=_now(engine), out_of_time=lambda: next(batches), batch=2)
    # Then it stops after them, says so, and the next run purges the rest
    assert (first.deleted["idempotency_keys"], first.finished, rows(engine, idempotency_keys)) == (4, False, 1)
    second = retention.purge(engine, now=_now(engine), out_of_time=lambda: False, batch=2)
    assert (second.deleted["idempotency_keys"], second.finished, rows(engine, idempotency_keys)) == (1, True, 0)


def test_a_row_being_written_is_skipped_not_waited_for(team: Team, engine: Engine, database_url: str) -> None:
    # Given two expired keys, one of them locked by a request that is rewriting it right now
    create(team, "busy")
    create(team, "idle")
    backdate(engine, idempotency_keys, True, expires_at=timedelta(hours=1))
    other_container = engine_from_url(database_url)
    try:
        with other_container.connect() as writing, writing.begin():
            writing.execute(select(idempotency_keys).where(idempotency_keys.c.key == "busy").with_for_update())

            # When the purge runs meanwhile
            purged = retention.purge(engine, now=_now(engine), out_of_time=lambda: False)

        # Then it purged the other one without waiting, and leaves the locked one for its next run
        assert purged.deleted["idempotency_keys"] == 1
        with engine.connect() as connection:
            assert connection.scalars(select(idempotency_keys.c.key)).all() == ["busy"]
    finally:
        other_container.dispose()


def _now(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.scalar(select(func.now()))
