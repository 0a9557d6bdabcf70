"""Each statement pg8000 sends travels in one round trip, and its errors are reported as before."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pg8000.core
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from payreq.db import read_connection, transaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


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
