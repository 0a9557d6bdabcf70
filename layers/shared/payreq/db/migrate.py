"""Alembic, driven from code: the CLI, the tests and the migration function all come through here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(revision: str = "head", *, connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(revision: str, *, connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(connection), revision)


def current(*, connection: Connection | None = None) -> None:
    command.current(alembic_config(connection), verbose=False)
