"""Fixtures for every suite: a real PostgreSQL (embedded unless DATABASE_URL names one), a fresh
migrated database per test, and the layer's cached settings and clients reset around each test."""

from __future__ import annotations

import io
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from payreq import aws, observability, settings
from payreq.db import get_engine, reset_engine
from support.database import DatabaseFactory
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

# Tests never reach AWS: fixed region and dummy credentials, tracing off.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "PayreqTest",
        "PAYREQ_STAGE": "test",
    }
)

# pytest's default temporary root is shared by every run of the same user and keeps only the last
# three runs: a second run on the machine deleted the first one's databases mid-run. Each run gets
# its own folder inside the checkout instead, removed when the run ends.
_RUN_TEMP_ROOT = Path(__file__).resolve().parent.parent / ".pytest-tmp"


def pytest_configure(config: pytest.Config) -> None:
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        _RUN_TEMP_ROOT.mkdir(exist_ok=True)
        config.option.basetemp = str(_RUN_TEMP_ROOT / f"run-{os.getpid()}")


def pytest_unconfigure(config: pytest.Config) -> None:
    basetemp = config.option.basetemp
    if basetemp is not None and Path(basetemp).parent == _RUN_TEMP_ROOT:
        shutil.rmtree(basetemp, ignore_errors=True)


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    external = os.environ.pop("DATABASE_URL", None)
    server = None
    if external is None:
        from payreq_local.postgres import EmbeddedPostgres

        data_dir: Path = tmp_path_factory.mktemp("postgres") / "data"
        server = EmbeddedPostgres(data_dir, ephemeral=True).start()
    factory = DatabaseFactory(external or server.url())  # type: ignore[union-attr]
    factory.create_template()
    yield factory
    factory.dispose()
    if server is not None:
        server.stop()


@pytest.fixture
def database_url(database_server: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database that the layer's settings and engine point at."""
    name = database_server.create()
    url = database_server.url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    settings.reset()
    reset_engine()
    yield url
    reset_engine()
    database_server.drop(name)


@pytest.fixture
def engine(database_url: str) -> Engine:
    return get_engine()


@pytest.fixture(autouse=True)
def _fresh_layer_state() -> Iterator[None]:
    settings.reset()
    aws.reset()
    reset_engine()
    yield
    reset_engine()
    settings.reset()
    aws.reset()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """What the layer's logger writes during the test, formatted exactly as in CloudWatch."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.logger.registered_formatter)
    # Powertools' Logger writes through the standard logger named after the service.
    standard_logger = logging.getLogger(observability.SERVICE)
    standard_logger.addHandler(handler)
    yield stream
    standard_logger.removeHandler(handler)
