"""What goes over the wire: reads pay no transaction round trips, and nothing pins RDS Proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pg8000.core
import pytest
from sqlalchemy import text

from payreq.db import read_connection, transaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@pytest.fixture
def sent(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement pg8000 sends from here on, including the BEGINs it issues by itself."""
    with engine.connect() as connection:  # the first connect runs the dialect's own setup queries
        connection.execute(text("SELECT 1"))
    statements: list[str] = []
    for method in ("execute_simple", "execute_unnamed", "execute_named"):
        original = getattr(pg8000.core.CoreConnection, method)

        def spy(self: object, statement: str, *args: object, _original: object = original, **kwargs: object) -> object:
            statements.append(" ".join(statement.split()).lower())
            return _original(self, statement, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(pg8000.core.CoreConnection, method, spy)
    return statements


def test_a_read_sends_only_its_query(engine: Engine, sent: list[str]) -> None:
    # When a read-only request queries and gives its connection back
    with read_connection(engine) as connection:
        connection.execute(text("SELECT 41 + 1"))
    with read_connection(engine) as connection:
        connection.execute(text("SELECT 43 - 1"))

    # Then only the queries travelled: no BEGIN, ROLLBACK or SET (a SET would pin RDS Proxy)
    assert sent == ["select 41 + 1", "select 43 - 1"]


def test_a_read_runs_each_statement_outside_any_transaction(engine: Engine) -> None:
    with read_connection(engine) as connection:
        first = connection.scalar(text("SELECT now()"))
        connection.execute(text("SELECT pg_sleep(0.01)"))
        second = connection.scalar(text("SELECT now()"))

    # now() is the transaction's start time: it moves only if every statement is its own transaction.
    assert second > first


def test_a_transaction_after_a_read_is_a_real_transaction(engine: Engine, sent: list[str]) -> None:
    with read_connection(engine) as connection:
        connection.execute(text("SELECT 1"))
    with transaction(engine) as connection:
        connection.execute(text("SELECT 2"))

    assert sent == ["select 1", "begin transaction", "select 2", "commit"]
