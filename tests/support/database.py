"""A clean, migrated PostgreSQL database per test, cloned from a template migrated once per run.

`CREATE DATABASE ... TEMPLATE` copies the migrated schema in tens of milliseconds, so each test gets
its own database (real commits, real concurrent connections) and no test sees another's rows.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from payreq.db import migrate
from payreq.db.engine import engine_from_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_names = itertools.count()


@dataclass
class DatabaseFactory:
    """Creates and drops databases on one server, given its admin URL (libpq style)."""

    admin_url: str

    def __post_init__(self) -> None:
        self._admin = engine_from_url(self.admin_url, pool_size=1).execution_options(isolation_level="AUTOCOMMIT")
        self.template = f"payreq_template_{os.getpid()}"

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create_template(self) -> None:
        self.drop(self.template)
        self._execute(f'CREATE DATABASE "{self.template}"')
        engine = engine_from_url(self.url(self.template), pool_size=1)
        try:
            with engine.begin() as connection:
                migrate.upgrade("head", connection=connection)
        finally:
            engine.dispose()

    def create(self, *, from_template: bool = True) -> str:
        name = f"payreq_test_{os.getpid()}_{next(_names)}"
        template = f' TEMPLATE "{self.template}"' if from_template else ""
        self._execute(f'CREATE DATABASE "{name}"{template}')
        return name

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def dispose(self) -> None:
        self.drop(self.template)
        self._admin.dispose()

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))


def raw_engine(url: str) -> Engine:
    """An engine with no payreq conventions, for poking at the database as an operator would."""
    return create_engine(make_url(url).set(drivername="postgresql+pg8000"))
