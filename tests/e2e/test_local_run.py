"""The README's run command on a machine where Payreq never ran: it creates and migrates the
database, serves, and Ctrl-C stops everything it started (no PostgreSQL, moto or worker left)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import text

from payreq.db.engine import engine_from_url
from payreq.db.migrate import alembic_config
from support.local_stack import LocalStack, process_alive

if TYPE_CHECKING:
    from pathlib import Path


def test_the_local_stack_starts_migrated_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    # Given a machine where Payreq has never run (an empty data directory)
    data_dir = tmp_path / "postgres"
    stack = LocalStack.start(data_dir, "--lazy")
    try:
        # When it reports ready
        url = stack.value("DATABASE_URL")
        functions = next(line for line in stack.lines if line.startswith("functions:"))

        # Then the database is migrated to head and seeded, and every function in the template is listed
        engine = engine_from_url(url)
        try:
            with engine.connect() as connection:
                revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
                demo_users = connection.scalar(text("SELECT count(*) FROM users WHERE email LIKE '%@example.com'"))
        finally:
            engine.dispose()
        assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert demo_users == 3
        # and its URLs name the host the README and the browser use
        assert stack.api_url.startswith("http://localhost:")
        assert "127.0.0.1" not in "\n".join(line for line in stack.lines if "http://" in line or "ws://" in line)
        for name in ("PrFunction", "InvoiceParserFunction", "AuthorizerFunction", "SyncWebSocketFunction"):
            assert name in functions
        httpx.get(f"{stack.api_url}/api/v1/health/pr", timeout=30).raise_for_status()
        processes = stack.processes()
        children = [processes["moto"], processes["postgres"], *processes["workers"]["PrFunction"]]
        assert all(process_alive(pid) for pid in children)

        # And Ctrl-C stops it: PostgreSQL, moto and the function workers too
        assert stack.interrupt() == 0, stack.output
        assert "payreq local stopped" in stack.output
        assert not (data_dir / "postmaster.pid").exists()
        deadline = time.monotonic() + 10
        while any(process_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in children if process_alive(pid)] == []
    finally:
        stack.kill()
