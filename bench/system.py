"""What every benchmark runs against: a fresh embedded PostgreSQL, migrated, and each function's
environment as `template.yaml` declares it (the local stack's resolver, so intrinsics and Globals
apply exactly as they do under `make run`)."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from payreq_local.intrinsics import Resolver
    from payreq_local.template import Application

ROOT = Path(__file__).resolve().parents[1]
# The orchestrator builds its data through the functions' flows, and reuses the tests' event
# builders and the local stack's template reader (one place for each).
for path in (ROOT / "tests", ROOT / "local", *sorted((ROOT / "functions").iterdir())):
    if path.is_dir() and str(path) not in sys.path:
        sys.path.append(str(path))


@contextmanager
def database() -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database that lives as long as the block."""
    from payreq.db import migrate
    from payreq.db.engine import engine_from_url
    from payreq_local.postgres import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="payreq-bench-") as scratch:
        server = EmbeddedPostgres(Path(scratch) / "data", ephemeral=True).start()
        try:
            url = server.url()
            engine = engine_from_url(url)
            try:
                with engine.begin() as connection:
                    migrate.upgrade(connection=connection)
            finally:
                engine.dispose()
            yield url
        finally:
            server.stop()


@cache
def _local_application() -> tuple[Resolver, Application]:
    """template.yaml as the local stack reads it (read once per run)."""
    from payreq_local.environment import LOCAL_PARAMETERS
    from payreq_local.intrinsics import Resolver
    from payreq_local.template import load_template, read_application

    template = load_template()
    resolver = Resolver(template, dict(LOCAL_PARAMETERS))
    return resolver, read_application(template, resolver)


def function_environment(function: str, database_url: str) -> dict[str, str]:
    """The environment `function` (a logical id such as `PrFunction`) gets locally, with tracing off
    and nothing but loopback endpoints, as a fresh Lambda container would."""
    from payreq_local.environment import LocalEndpoints, function_environment

    resolver, application = _local_application()
    nowhere = "http://127.0.0.1:9"  # nothing listens: the measured requests never reach AWS
    endpoints = LocalEndpoints(database_url=database_url, s3_url=nowhere, sqs_url=nowhere, gateway_url=nowhere)
    environment = function_environment(application.functions[function], resolver, endpoints)
    # A change's after-commit nudge to the sync queue is a call to AWS: the measured requests end at
    # their commit, and the fan-out it starts is measured on its own (bench/fanout.py).
    environment["PAYREQ_SYNC_QUEUE_URL"] = ""
    # The measured POST /prs gives its request its own approval flow, as the peer's does.
    environment["PAYREQ_INLINE_FLOWS"] = "anyone"
    return environment


def use_environment(environment: dict[str, str]) -> None:
    """Adopt a function's variables in this process (in-process measurements), keeping PATH etc."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "VIRTUAL_ENV") if name in os.environ}
    os.environ.update({**environment, **keep})
