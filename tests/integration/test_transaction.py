"""A flow's change, its audit event and its outbox row commit or roll back together."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError

from payreq.audit import record_change
from payreq.context import RequestContext
from payreq.db import read_connection, transaction
from payreq.db.engine import engine_from_url
from payreq.db.schema import audit_events, outbox, users
from payreq.outbox import publish_change

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ACTOR = RequestContext(request_id="req-test", user_id=None, source_ip="203.0.113.7", user_agent="pytest")


class FlowFailed(Exception):
    pass


def invite_user(engine: Engine, context: RequestContext, email: str, *, then_fail: bool = False) -> uuid.UUID:
    """Shaped like every flow: one unit of work holding the change, its audit event and its outbox row."""
    user_id = uuid.uuid4()
    with transaction(engine) as connection:
        row = {"id": user_id, "email": email, "display_name": email.split("@")[0]}
        connection.execute(insert(users).values(**row))
        record_change(connection, context, action="user.invited", entity_type="user", entity_id=user_id, after=row)
        publish_change(connection, entity="user", entity_id=user_id, op="created", version=1)
        if then_fail:
            raise FlowFailed("something later in the flow failed")
    return user_id


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in (users, audit_events, outbox)
        }


def test_a_flow_that_fails_half_way_leaves_all_three_tables_as_they_were(engine: Engine) -> None:
    # Given a database with one committed change
    invite_user(engine, ACTOR, "first@example.com")
    before = table_counts(engine)

    # When a flow writes a row, its audit event and its outbox row, then raises
    with pytest.raises(FlowFailed):
        invite_user(engine, ACTOR, "second@example.com", then_fail=True)

    # Then none of the three writes survived
    assert table_counts(engine) == before == {"users": 1, "audit_events": 1, "outbox": 1}


def test_a_flow_that_succeeds_commits_the_change_with_its_audit_event_and_outbox_row(engine: Engine) -> None:
    # When a flow completes
    user_id = invite_user(engine, ACTOR, "ada@example.com")

    # Then the change, who made it and the announcement are all there
    with engine.connect() as connection:
        audit = connection.execute(select(audit_events)).mappings().one()
        announced = connection.execute(select(outbox)).mappings().one()
    assert (audit["action"], audit["entity_id"], audit["category"]) == ("user.invited", str(user_id), "change")
    assert audit["after"]["email"] == "ada@example.com"
    assert (audit["request_id"], audit["source_ip"], audit["user_agent"]) == ("req-test", "203.0.113.7", "pytest")
    assert (announced["entity"], announced["op"], announced["dispatched_at"]) == ("user", "created", None)
    assert announced["topics"] == ["users", f"user:{user_id}"]


def test_a_lock_held_longer_than_the_connect_timeout_is_waited_for(database_url: str) -> None:
    # Given a connect timeout of 1 s, and another transaction holding a row lock for 1.5 s
    from threading import Event, Thread
    from time import monotonic, sleep

    from sqlalchemy import text

    from payreq.db.engine import build_engine
    from payreq.settings import DatabaseSettings

    connect_timeout, held_for = 1, 1.5
    engine = build_engine(
        DatabaseSettings(DATABASE_URL=database_url, connect_timeout_seconds=connect_timeout), pool_size=2
    )
    user_id = invite_user(engine, ACTOR, "lock@example.com")
    locked, released_at = Event(), []

    def hold_the_lock() -> None:
        with transaction(engine) as connection:
            connection.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())
            locked.set()
            sleep(held_for)
            released_at.append(monotonic())

    holder = Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(timeout=10), "the holder never took the lock"
    try:
        # When a second transaction waits for that lock
        started = monotonic()
        with transaction(engine) as connection:
            waited_for = connection.scalar(
                select(users.c.id).where(users.c.id == user_id).with_for_update().add_columns(text("1"))
            )
        waited = monotonic() - started
    finally:
        holder.join()
        engine.dispose()

    # Then it waited longer than the connect timeout, until the lock was released, and got the row
    # on a connection that is still alive
    assert waited > connect_timeout
    assert started + waited >= released_at[0]
    assert waited_for == user_id


def test_a_connection_lost_mid_transaction_surfaces_as_the_database_error(engine: Engine) -> None:
    # Given a unit of work whose connection the server ends half-way (as a failover or
    # pg_terminate_backend would)
    with pytest.raises(DBAPIError) as raised, transaction(engine) as connection:
        connection.execute(insert(users).values(id=uuid.uuid4(), email="gone@example.com", display_name="Gone"))
        connection.execute(select(func.pg_terminate_backend(func.pg_backend_pid())))

    # Then the caller sees the lost connection (the error handler's 503), not a PendingRollbackError
    assert raised.value.connection_invalidated

    # And the next unit of work gets a new connection
    with transaction(engine) as connection:
        assert connection.scalar(select(func.count()).select_from(users)) == 0


def _kill_pooled_connection(engine: Engine, database_url: str) -> int:
    """End the backend of the engine's one pooled connection, as a failover or idle timeout would."""
    from sqlalchemy import text

    with read_connection(engine) as connection:
        pid = int(connection.scalar(text("SELECT pg_backend_pid()")))
    killer = engine_from_url(database_url)
    try:
        with killer.connect() as connection:
            # With a timeout it waits until the backend is gone, as after a real failover.
            assert connection.scalar(select(func.pg_terminate_backend(pid, 5000)))
    finally:
        killer.dispose()
    return pid


def test_a_read_on_a_connection_that_died_while_pooled_reconnects_once_instead_of_failing(
    engine: Engine, database_url: str
) -> None:
    # Given a warm container whose pooled connection the proxy dropped while it was idle
    invite_user(engine, ACTOR, "ada@example.com")
    dead_pid = _kill_pooled_connection(engine, database_url)

    # When the next request reads
    from sqlalchemy import text

    with read_connection(engine) as connection:
        count = connection.scalar(select(func.count()).select_from(users))
        pid = connection.scalar(text("SELECT pg_backend_pid()"))

    # Then it gets its answer (not a 503), on a new connection
    assert count == 1
    assert pid != dead_pid

    # And the connection went back to the pool out of autocommit: a unit of work on it is atomic
    with pytest.raises(FlowFailed):
        invite_user(engine, ACTOR, "second@example.com", then_fail=True)
    assert table_counts(engine)["users"] == 1


def test_a_unit_of_work_whose_pooled_connection_died_starts_on_a_new_one(engine: Engine, database_url: str) -> None:
    # Given a pooled connection that died while idle
    dead_pid = _kill_pooled_connection(engine, database_url)

    # When a flow's unit of work starts on it
    user_id = invite_user(engine, ACTOR, "after-failover@example.com")

    # Then it ran whole on a new connection (found dead at BEGIN, before any of the work ran)
    from sqlalchemy import text

    assert table_counts(engine) == {"users": 1, "audit_events": 1, "outbox": 1}
    with transaction(engine) as connection:
        assert connection.scalar(text("SELECT pg_backend_pid()")) != dead_pid
        assert connection.scalar(select(users.c.email).where(users.c.id == user_id)) == "after-failover@example.com"
