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
from support.local_stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

LAST_RUN = Path(__file__).with_name(".last-run.json")
# `make soak` raises this; CI keeps the default so the suite stays within its time budget.
SOAK_FACTOR = max(1, int(os.environ.get("PAYREQ_SOAK", "1")))

_figures: dict[str, dict[str, Any]] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long-running part, only with `make soak` (PAYREQ_SOAK > 1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SOAK_FACTOR > 1:
        return
    skip = pytest.mark.skip(reason="soak only: run `make soak`")
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(skip)


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
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    where = tmp_path_factory.mktemp("reliability-stack")
    running = LocalStack.start(where / "postgres")
    yield running
    try:
        running.interrupt()
    finally:
        running.kill()
        # Every function's log, for the request ids a failure names.
        (where / "local-stack.log").write_text(running.output)


@pytest.fixture(scope="session")
def people(stack: LocalStack) -> People:
    return People(stack)
