"""`python -m payreq_local` (make run): Payreq on this machine, no Docker, no AWS account.

Starts the embedded PostgreSQL (kept in .local/postgres between runs), creates and migrates the
`payreq` database, and imports every function's handler named in template.yaml so a broken one
fails here rather than on its first request. Runs until Ctrl-C, then stops PostgreSQL.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import text

from payreq import settings
from payreq.db import migrate
from payreq.db.engine import engine_from_url
from payreq_local.postgres import EmbeddedPostgres
from payreq_local.template import ROOT, functions, load_template

log = logging.getLogger("payreq_local")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payreq_local", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / ".local" / "postgres",
        help="where the embedded PostgreSQL keeps its data (default: .local/postgres)",
    )
    parser.add_argument("--database", default="payreq", help="database name (default: payreq)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)

    started = time.perf_counter()
    args.data_dir.parent.mkdir(parents=True, exist_ok=True)
    postgres = EmbeddedPostgres(args.data_dir).start()
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        url = prepare_database(postgres, args.database)
        handlers = import_handlers()
        print(f"DATABASE_URL={url}", flush=True)
        print(f"functions: {', '.join(handlers)}", flush=True)
        print(f"payreq local ready in {time.perf_counter() - started:.1f}s (Ctrl-C stops it)", flush=True)
        while not stop_requested:
            time.sleep(0.2)
    finally:
        postgres.stop()
        print("payreq local stopped", flush=True)
    return 0


def prepare_database(postgres: EmbeddedPostgres, database: str) -> str:
    """Create the database on first run, point the layer's settings at it and migrate it to head."""
    admin = engine_from_url(postgres.url()).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    url = postgres.url(database)
    os.environ["DATABASE_URL"] = url
    settings.reset()
    migrate.upgrade("head")
    return url


def import_handlers() -> list[str]:
    loaded = []
    for spec in functions(load_template()):
        if str(spec.code_dir) not in sys.path:
            sys.path.append(str(spec.code_dir))
        importlib.import_module(spec.module)
        loaded.append(spec.name)
    return loaded


if __name__ == "__main__":
    sys.exit(main())
