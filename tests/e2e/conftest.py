"""The local stack, started once for the e2e suite exactly as `make run` starts it (free ports,
a throwaway data directory), and stopped with Ctrl-C at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.local_stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator


FRONTEND_ORIGIN = "http://localhost:5173"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # The tests write their approval flows inline (the default leaves that to holders of flows.manage),
    # and act as a frontend served from its own dev server.
    running = LocalStack.start(
        tmp_path_factory.mktemp("local-stack") / "postgres",
        "--parameter-overrides",
        "InlineFlows=anyone",
        "--allow-origin",
        FRONTEND_ORIGIN,
    )
    yield running
    running.stop()
