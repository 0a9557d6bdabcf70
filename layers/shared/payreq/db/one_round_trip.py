"""A read in one round trip to the database, for the statement every API call runs (the
authorizer's credential lookup).

pg8000 on its own runs each statement with the extended protocol and waits three times (Parse,
then Describe, then Bind/Execute, each followed by Sync): three round trips, each 0.3-1 ms behind
RDS Proxy. The layer now sends those messages together (`pipelined_statements`), so every
statement is one round trip; this one still skips the Describe and the parameter encoding.
PostgreSQL's simple query protocol sends the statement once and gets the rows back in one.
It takes no parameters, so it is only for statements whose values the caller writes in itself from
values it made (a SHA-256 digest in hex), never from what a client sent. With psycopg (the
benchmarks' other driver) the statement runs the ordinary way: psycopg pipelines the extended
protocol into one round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pg8000.legacy
from sqlalchemy.exc import DBAPIError

from payreq.db.engine import connection_lost

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def bytea_literal(value: bytes) -> str:
    """`value` as a bytea literal (hex digits only: nothing in it can end the string)."""
    return f"'\\x{value.hex()}'::bytea"


def one_row(connection: Connection, statement: str) -> dict[str, Any] | None:
    """The only row `statement` returns, by column name, or None; in autocommit, in one round trip.
    A lost connection is invalidated and raised as SQLAlchemy's DBAPIError, as `execute` would."""
    driver = connection.connection.dbapi_connection
    if not isinstance(driver, pg8000.legacy.Connection):
        row = connection.exec_driver_sql(statement).mappings().one_or_none()
        return None if row is None else dict(row)
    try:
        context = driver.execute_simple(statement)
    except pg8000.Error as error:
        lost = connection_lost(connection.dialect, error, driver, None)
        if lost:
            connection.invalidate()
        raise DBAPIError.instance(statement, None, error, pg8000.Error, connection_invalidated=lost) from error
    rows = context.rows or []
    if len(rows) > 1:
        raise ValueError(f"expected at most one row, got {len(rows)}")
    if not rows:
        return None
    names = [column["name"] for column in context.columns]
    return dict(zip(names, rows[0], strict=True))
