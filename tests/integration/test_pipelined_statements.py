"""Each statement pg8000 sends travels in one round trip, is parsed once per connection under a
protocol-level name, and its errors are reported as before."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pg8000.core
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from payreq.db import pipelined_statements, read_connection, transaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

SUM = text("SELECT CAST(:a AS int) + CAST(:b AS int) AS sum")


def test_a_statement_with_parameters_is_one_round_trip(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a connection that has run its dialect's setup queries, and pg8000's sends counted
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    flush, flushes = pg8000.core._flush, [0]

    def counted(sock: object) -> None:
        flushes[0] += 1
        flush(sock)

    monkeypatch.setattr(pg8000.core, "_flush", counted)

    # When a read runs a statement with parameters
    with read_connection(engine) as connection:
        answer = connection.execute(text("SELECT CAST(:a AS int) + CAST(:b AS int) AS sum"), {"a": 40, "b": 2}).one()

    # Then the rows and their column names come back, after one exchange with the server
    assert answer.sum == 42
    assert flushes == [1]


def test_a_statement_the_server_cannot_parse_fails_and_the_connection_stays_usable(engine: Engine) -> None:
    # Given a read connection
    with read_connection(engine) as connection:
        # When a statement has a syntax error
        with pytest.raises(ProgrammingError, match="syntax error"):
            connection.execute(text("SELEC 1"))
        # Then the next statement on the same connection still works
        assert connection.scalar(text("SELECT 7")) == 7


def test_a_value_the_server_refuses_fails_the_transaction_and_nothing_is_written(engine: Engine) -> None:
    # When a transaction creates a table, writes a row and then binds a value the server refuses
    with pytest.raises(DBAPIError, match="invalid input syntax"), transaction(engine) as connection:
        connection.execute(text("CREATE TEMP TABLE scratch_rows (n int)"))
        connection.execute(text("INSERT INTO scratch_rows VALUES (1)"))
        connection.execute(text("SELECT CAST(:value AS int)"), {"value": "not a number"})

    # Then the error is the server's, and what the transaction did before it is gone
    with read_connection(engine) as connection:
        assert connection.scalar(text("SELECT to_regclass('pg_temp.scratch_rows') IS NULL"))


def _prepared(connection: Connection) -> list[str]:
    """The statements this connection's server session holds by name (SQL's own view of them)."""
    rows = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
    return [" ".join(row.statement.split()) for row in rows]


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The names of the statements pg8000 asks the server to parse from here on (b"\\x00": unnamed)."""
    parse, names = pg8000.core.CoreConnection.send_PARSE, []

    def counted(self: object, name: bytes, *args: object) -> None:
        names.append(name)
        parse(self, name, *args)

    monkeypatch.setattr(pg8000.core.CoreConnection, "send_PARSE", counted)
    return names


def test_a_statement_is_parsed_once_per_connection_and_run_by_name_after(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a connection, and the statements pg8000 asks the server to parse counted
    with read_connection(engine) as connection:
        parses = _parses(monkeypatch)

        # When the same statement runs three times with other values
        sums = [connection.execute(SUM, {"a": n, "b": 1}).scalar_one() for n in (1, 2, 3)]

        # Then each run answers its own values, the server parsed it once, and holds it by name
        assert sums == [2, 3, 4]
        assert len(parses) == 1
        assert parses[0] != pg8000.core.NULL_BYTE
        assert _prepared(connection) == ["SELECT CAST($1 AS int) + CAST($2 AS int) AS sum"]


def test_statements_without_parameters_stay_unnamed(engine: Engine) -> None:
    # When a unit of work runs (BEGIN and COMMIT take no parameters) with a statement without any
    with transaction(engine) as connection:
        connection.execute(text("SELECT 1"))

    # Then the session holds no statement by name for them
    with read_connection(engine) as connection:
        assert _prepared(connection) == []


def test_a_connection_keeps_a_bounded_number_of_statements(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given connections that keep three statements each
    monkeypatch.setattr(pipelined_statements, "PREPARED", 3)
    with read_connection(engine) as connection:
        # When five different statements run, then the first of them once more, then another
        for n in (0, 1, 2, 3, 4, 0, 4):
            assert connection.execute(text(f"SELECT CAST(:a AS int) + {n}"), {"a": 1}).scalar_one() == 1 + n

        # Then the least recently used were closed on the server, each with the statement after it:
        # the session holds the three used last
        assert _prepared(connection) == [f"SELECT CAST($1 AS int) + {n}" for n in (3, 4, 0)]


def test_a_statement_that_failed_leaves_no_name_behind(engine: Engine) -> None:
    with read_connection(engine) as connection:
        # Given a statement whose first run fails after the server parsed it (a value it refuses)
        with pytest.raises(DBAPIError, match="invalid input syntax"):
            connection.execute(text("SELECT CAST(:value AS int)"), {"value": "not a number"})

        # When it runs again with a value the server takes
        answer = connection.execute(text("SELECT CAST(:value AS int)"), {"value": "7"}).scalar_one()

        # Then it answers, and the session holds it once: the failed run's name was closed
        assert answer == 7
        assert _prepared(connection) == ["SELECT CAST($1 AS int)"]


def test_a_statement_the_session_lost_is_parsed_again(engine: Engine) -> None:
    with read_connection(engine) as connection:
        # Given a statement the connection has run by name, and a session reset that dropped it
        assert connection.execute(SUM, {"a": 1, "b": 1}).scalar_one() == 2
        connection.exec_driver_sql("DEALLOCATE ALL")

        # When it runs again, outside any transaction
        answer = connection.execute(SUM, {"a": 20, "b": 22}).scalar_one()

        # Then it answers as if nothing had happened, parsed again under a name
        assert answer == 42
        assert _prepared(connection) == ["SELECT CAST($1 AS int) + CAST($2 AS int) AS sum"]


def test_a_read_whose_columns_a_migration_changed_answers_with_the_new_columns(engine: Engine) -> None:
    with read_connection(engine) as connection:
        # Given a statement the connection has run by name
        connection.exec_driver_sql("CREATE TEMP TABLE amounts (n int)")
        connection.exec_driver_sql("INSERT INTO amounts VALUES (5)")
        read = text("SELECT n FROM amounts WHERE n > :floor")
        assert connection.execute(read, {"floor": 0}).scalar_one() == 5

        # When a migration changes the type of a column it returns
        connection.exec_driver_sql("ALTER TABLE amounts ALTER COLUMN n TYPE numeric(10, 2)")

        # Then the next read answers with the column as it is now
        assert str(connection.execute(read, {"floor": 0}).scalar_one()) == "5.00"


def test_inside_a_unit_of_work_such_a_change_fails_that_attempt_only(engine: Engine) -> None:
    # Given a statement the connection has run by name, and a column type changed under it
    with read_connection(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch_amounts (n int)")
        connection.exec_driver_sql("TRUNCATE scratch_amounts")
        connection.exec_driver_sql("INSERT INTO scratch_amounts VALUES (5)")
        read = text("SELECT n FROM scratch_amounts WHERE n > :floor")
        assert connection.execute(read, {"floor": 0}).scalar_one() == 5
        connection.exec_driver_sql("ALTER TABLE scratch_amounts ALTER COLUMN n TYPE bigint")
    try:
        # When a unit of work runs it: its transaction cannot run it again, so it fails
        with pytest.raises(DBAPIError, match="cached plan must not change result type"), transaction(engine) as unit:
            unit.execute(read, {"floor": 0})

        # Then the next attempt parses it afresh and answers
        with transaction(engine) as unit:
            assert unit.execute(read, {"floor": 0}).scalar_one() == 5
    finally:
        with transaction(engine) as unit:
            unit.exec_driver_sql("DROP TABLE scratch_amounts")
