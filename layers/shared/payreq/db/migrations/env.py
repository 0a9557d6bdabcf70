"""Alembic's environment: runs migrations against the database the settings point at.

A caller that already holds a connection (tests, the migration Lambda) passes it as
`config.attributes["connection"]`; otherwise the engine is built from the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context

from payreq.db.engine import build_engine
from payreq.db.schema import metadata
from payreq.settings import database_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = build_engine(database_settings())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run them against a database.")
run_migrations_online()
