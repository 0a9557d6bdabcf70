"""The reliability suite: what the system promises as a whole, over real HTTP through one local stack.

Every test records the figure that proves its promise (requests sent, examples tried, failures) in
`figures`; the run prints them as one table at the end and writes them to `.last-run.json` beside
this file (gitignored), from which `docs/reliability.md` is updated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from reliability.people import People
from support.fake_oidc import FakeOidcProvider
from support.local_stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

LAST_RUN = Path(__file__).with_name(".last-run.json")
# `make soak` raises this; CI keeps the default so the suite stays within its time budget.
SOAK_FACTOR = max(1, int(os.environ.get("PAYREQ_SOAK", "1")))

_figures: dict[str, dict[str, Any]] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "disruptive: leaves the shared local stack degraded for a moment (e.g. a database restart)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Disruptive tests run after every other test of the run, so none of them sees the aftermath
    # (each warm worker's first request after a database restart is a clean 503, by design).
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


class Figures:
    """`figures.record("authorization matrix", requests=412, failures=0)`: the numbers a test proves."""

    def record(self, name: str, **numbers: Any) -> None:
        _figures[name] = numbers


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _figures:
        return
    terminalreporter.section("reliability figures")
    width = max(len(name) for name in _figures)
    for name, numbers in _figures.items():
        shown = ", ".join(f"{key}={value}" for key, value in numbers.items())
        terminalreporter.write_line(f"{name:<{width}}  {shown}")
    LAST_RUN.write_text(json.dumps(_figures, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def google() -> Iterator[FakeOidcProvider]:
    provider = FakeOidcProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, google: FakeOidcProvider) -> Iterator[LocalStack]:
    where = tmp_path_factory.mktemp("reliability-stack")
    # Google sign-in against the fake provider on loopback (`sam local --env-vars` format)
    env_vars = where / "env-vars.json"
    # ... and approval flows written inline by the tests (the default leaves that to flows.manage).
    env_vars.write_text(json.dumps({"Parameters": {**google.google_settings(), "PAYREQ_INLINE_FLOWS": "anyone"}}))
    running = LocalStack.start(where / "postgres", "--env-vars", str(env_vars))
    yield running
    running.stop()
    # Every function's log, for the request ids a failure names.
    (where / "local-stack.log").write_text(running.output)


@pytest.fixture(scope="session")
def people(stack: LocalStack) -> People:
    return People(stack)
