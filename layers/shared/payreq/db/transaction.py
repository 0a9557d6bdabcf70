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
        yield connection.execution_options(isolation_level="AUTOCOMMIT")
