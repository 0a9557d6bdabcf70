"""The one way flows touch the database.

`transaction` is a flow's unit of work: the change, its audit events and its outbox rows are
written on the same connection and commit or roll back together, on a connection known to be alive
when the work starts. `read_connection` is for
read-only requests and runs in autocommit, so they pay no BEGIN/ROLLBACK round trips, and a
statement whose pooled connection turned out dead runs once more on a fresh one (see
`payreq.db.engine.reconnect_once`): the first request after a proxy failover is not a 503.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import pg8000.legacy
from sqlalchemy.exc import DBAPIError

from payreq.db.engine import RECONNECT_ONCE, connection_lost

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Connection, Engine


_AFTER_COMMIT = "payreq.after_commit"


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A unit of work; callbacks registered with `after_commit` run once it has committed."""
    with engine.connect() as connection:
        _begin_on_a_live_connection(connection)
        with connection.begin():
            # `Connection.info` outlives the checkout (it belongs to the DBAPI connection): start clean.
            callbacks: dict[str, Callable[[], None]] = {}
            connection.info[_AFTER_COMMIT] = callbacks
            try:
                yield connection
            finally:
                # A connection lost mid-transaction is invalidated; touching its `info` would raise
                # PendingRollbackError over the error that says what happened (a 503, not a 500).
                if not connection.invalidated:
                    connection.info.pop(_AFTER_COMMIT, None)
    # Only reached when the block returned and COMMIT succeeded; a rollback never runs them.
    for callback in callbacks.values():
        callback()


def _begin_on_a_live_connection(connection: Connection) -> None:
    """Open the transaction before the unit of work runs, so a pooled connection that died (a proxy
    failover, an idle disconnect) is found out while nothing of the work has happened yet.

    pg8000 sends `begin transaction` as a round trip of its own before a transaction's first
    statement; sent here instead, it costs nothing more. When it fails because the connection is
    gone, the unit of work starts on a new connection (pg8000 then begins it as usual, and a second
    failure is the caller's 503). A connection lost once the work has started is never retried.
    """
    driver = connection.connection.dbapi_connection
    if not isinstance(driver, pg8000.legacy.Connection):
        return  # psycopg (the benchmarks' peer) begins on its own
    try:
        driver.execute_simple("begin transaction")
    except pg8000.Error as error:
        if not connection_lost(connection.dialect, error, driver, None):
            raise DBAPIError.instance("begin transaction", None, error, pg8000.Error) from error
        from payreq.observability import logger

        logger.warning("database connection lost before a unit of work: starting it on a new one")
        connection.invalidate()


def after_commit(connection: Connection, key: str, callback: Callable[[], None]) -> bool:
    """Run `callback` once after the enclosing `transaction` commits (one per `key`); False when
    the connection is not in a `transaction` (then nothing runs, and the caller needs a fallback)."""
    callbacks = connection.info.get(_AFTER_COMMIT)
    if callbacks is None:
        return False
    callbacks.setdefault(key, callback)
    return True


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        # pg8000's own switch, not SQLAlchemy's isolation_level="AUTOCOMMIT": on check-in SQLAlchemy
        # would reset that with `SET SESSION CHARACTERISTICS ...` + COMMIT, two round trips and a
        # SET that pins the RDS Proxy session. The flag alone sends nothing.
        connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        connection.execution_options(**{RECONNECT_ONCE: True})
        try:
            yield connection
        finally:
            # The driver connection may be a new one by now (a reconnect); the pool must never get
            # one back in autocommit, or the next unit of work on it would not be atomic. An
            # invalidated one is discarded by the pool instead (and touching it would reconnect).
            if not connection.invalidated:
                connection.connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]


def repeat_if_connection_lost[T](work: Callable[[], T]) -> T:
    """Run a whole unit of work once more when it failed because its connection was lost.

    Only for work that is harmless to do twice (the authorizer's credential check: a session touched
    twice is touched once): a connection can be lost during COMMIT, after the database committed.
    Flows that change data are not repeated behind the caller's back; their 503 asks the client to.
    """
    try:
        return work()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        from payreq.observability import logger

        logger.warning("database connection lost under a unit of work: running it once more")
        return work()
