"""The migrations build the schema the code declares, and undo it cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import inspect

from payreq.cli import main as payreq_cli
from payreq.db import migrate
from payreq.db.engine import engine_from_url

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.database import DatabaseFactory

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_TABLES = {
    "users",
    "user_permissions",
    "sessions",
    "api_tokens",
    "document_counters",
    "payment_requests",
    "approval_steps",
    "approvals",
    "invoices",
    "invoice_lines",
    "invoice_attachments",
    "pr_invoice_links",
    "payment_methods",
    "payments",
    "audit_events",
    "outbox",
    "ws_connections",
    "ws_tickets",
    "sync_topics",
    "idempotency_keys",
    "oauth_logins",
    "approval_flow_templates",
}


@pytest.fixture
def empty_database(database_server: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = database_server.create(from_template=False)
    url = database_server.url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    database_server.drop(name)


def tables(url: str) -> set[str]:
    engine = engine_from_url(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def alembic_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_alembic_upgrade_downgrade_upgrade_on_a_fresh_database(empty_database: str) -> None:
    # When the schema is built, torn down and built again with the alembic command line
    first = alembic_cli("upgrade", "head")
    built = tables(empty_database)
    down = alembic_cli("downgrade", "base")
    emptied = tables(empty_database)
    again = alembic_cli("upgrade", "head")

    # Then every step succeeded and the whole schema is back
    assert [first.returncode, down.returncode, again.returncode] == [0, 0, 0], first.stderr + down.stderr
    assert built == EXPECTED_TABLES
    assert emptied == set()
    assert tables(empty_database) == EXPECTED_TABLES


def test_payreq_db_upgrade_builds_the_schema(empty_database: str) -> None:
    assert payreq_cli(["db", "upgrade"]) == 0
    assert tables(empty_database) == EXPECTED_TABLES


def test_payreq_cli_reports_a_bad_revision_in_one_line(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert payreq_cli(["db", "downgrade", "no-such-revision"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("payreq: error:") and "\n" not in error


def test_the_migrations_match_the_declared_schema(database_url: str) -> None:
    # `alembic check` fails when schema.py declares something no migration creates (or the reverse).
    engine = engine_from_url(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            try:
                command.check(migrate.alembic_config(connection))
            except CommandError as drift:
                pytest.fail(f"schema.py and the migrations disagree: {drift}")
    finally:
        engine.dispose()
