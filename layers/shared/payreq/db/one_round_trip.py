"""A read in one round trip to the database, straight on the driver, for the statement every API
call runs (the authorizer's credential lookup).

The statement is written out (no Core statement built, no cache key computed per request) with its
one value as the parameter `$1`, and run on pg8000 itself rather than through SQLAlchemy's execution
machinery: one round trip, and from a connection's second lookup on only Bind and Execute, since the
layer parses each statement with parameters once per connection (`pipelined_statements`). The value
travels as a parameter, never as text in the statement. With psycopg (the benchmarks' other driver)
the statement runs the ordinary way, which psycopg pipelines into one round trip too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pg8000.legacy
from sqlalchemy.exc import DBAPIError

from payreq.db.engine import connection_lost

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def one_row(connection: Connection, statement: str, value: Any) -> dict[str, Any] | None:
    """The only row `statement` (with `$1` for `value`) returns, by column name, or None; in
    autocommit, in one round trip. A lost connection is invalidated and raised as SQLAlchemy's
    DBAPIError, as `execute` would."""
    driver = connection.connection.dbapi_connection
    if not isinstance(driver, pg8000.legacy.Connection):
        row = connection.exec_driver_sql(statement.replace("$1", "%s"), (value,)).mappings().one_or_none()
        return None if row is None else dict(row)
    try:
        context = driver.execute_unnamed(statement, vals=(value,))
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
