"""Fan-out: one change to 1,000 connections in one broadcaster invocation (the lean poster, 32 connections)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from payreq.db import transaction
from payreq.db.schema import ws_connections
from support.team import raise_request

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from integration.sync.conftest import Crew, Sockets

CONNECTIONS = 1000


def test_a_change_reaches_1000_connections_in_one_invocation(
    team: Crew,
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    capsys: Any,
) -> None:
    # Given 1,000 open connections subscribed to prs (half the requester's, half alice's tabs)
    now = datetime.now(UTC)
    ids = [f"fan-{index:04d}-{uuid.uuid4().hex[:6]}" for index in range(CONNECTIONS)]
    owners = [uuid.UUID(team.requester.id), uuid.UUID(team.alice.id)]
    with transaction(engine) as connection:
        connection.execute(
            insert(ws_connections),
            [
                {
                    "connection_id": connection_id,
                    "user_id": owners[index % 2],
                    "topics": ["prs"],
                    "scopes": ["pr.read"],
                    "expires_at": now + timedelta(hours=2),
                }
                for index, connection_id in enumerate(ids)
            ],
        )
    raise_request(team.requester, team.flow())

    # When one broadcaster invocation runs
    started = time.perf_counter()
    result = broadcast_now()
    elapsed = time.perf_counter() - started

    # Then every connection has the change, once
    assert (result["events"], result["sent"], result["failed"]) == (1, CONNECTIONS, 0)
    assert all(len(sockets.changes(connection_id)) == 1 for connection_id in ids)
    with capsys.disabled():
        print(f"\nfan-out to {CONNECTIONS} connections (@connections over HTTP, 32 connections): {elapsed:.2f} s")
