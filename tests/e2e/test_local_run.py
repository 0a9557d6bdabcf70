"""The README's run command, as a newcomer runs it: starts, serves a migrated database, stops clean."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from sqlalchemy import text

from payreq.db.engine import engine_from_url

if TYPE_CHECKING:
    from pathlib import Path

READY_TIMEOUT_SECONDS = 90


def test_the_local_stack_starts_migrated_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    # Given a machine where Payreq has never run (an empty data directory)
    data_dir = tmp_path / "postgres"
    process = subprocess.Popen(
        [sys.executable, "-m", "payreq_local", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # When it reports ready
        lines = read_until(process, "payreq local ready")
        url = next(line.split("=", 1)[1] for line in lines if line.startswith("DATABASE_URL="))
        functions = next(line for line in lines if line.startswith("functions:"))

        # Then the database is migrated and every function in the template was loaded
        engine = engine_from_url(url)
        try:
            with engine.connect() as connection:
                revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        finally:
            engine.dispose()
        assert revision == "0001"
        for name in ("PrFunction", "InvoiceParserFunction", "AuthorizerFunction", "SyncWebSocketFunction"):
            assert name in functions

        # And Ctrl-C stops it, PostgreSQL included
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "payreq local stopped" in output
        assert not (data_dir / "postmaster.pid").exists()
    finally:
        if process.poll() is None:
            process.kill()


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    assert process.stdout is not None
    deadline, lines = time.monotonic() + READY_TIMEOUT_SECONDS, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line.strip())
        if marker in line:
            return lines
    raise AssertionError("the local stack never became ready:\n" + "\n".join(lines))
