"""The one way flows touch the database.

`transaction` is a flow's unit of work: the change, its audit events and its outbox rows are
written on the same connection and commit or roll back together. `read_connection` is for
read-only requests and runs in autocommit, so they pay no BEGIN/ROLLBACK round trips.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Connection, Engine


_AFTER_COMMIT = "payreq.after_commit"


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A unit of work; callbacks registered with `after_commit` run once it has committed."""
    with engine.begin() as connection:
        # `Connection.info` outlives the checkout (it belongs to the DBAPI connection): start clean.
        callbacks: dict[str, Callable[[], None]] = {}
        connection.info[_AFTER_COMMIT] = callbacks
        try:
            yield connection
        finally:
            # A connection lost mid-transaction is already invalidated and discarded with its
            # info; touching it would replace the real error with PendingRollbackError (a 500
            # where the caller should get a 503 and retry).
            if not connection.invalidated:
                connection.info.pop(_AFTER_COMMIT, None)
    # Only reached when the block returned and COMMIT succeeded; a rollback never runs them.
    for callback in callbacks.values():
        callback()


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
        driver_connection = connection.connection.dbapi_connection
        driver_connection.autocommit = True  # type: ignore[union-attr]
        try:
            yield connection
        finally:
            driver_connection.autocommit = False  # type: ignore[union-attr]
