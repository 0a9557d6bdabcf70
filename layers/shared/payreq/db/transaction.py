"""The one way flows touch the database.

`transaction` is a flow's unit of work: the change, its audit events and its outbox rows are
written on the same connection and commit or roll back together. `read_connection` is for
read-only requests and runs in autocommit, so they pay no BEGIN/ROLLBACK round trips.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection, Engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as connection:
        yield connection


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
