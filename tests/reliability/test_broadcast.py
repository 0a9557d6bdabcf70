"""Live sync with half its connections gone without a `$disconnect` (a dropped network, a client
that vanished): a change still reaches every live socket, and the broadcaster removes the stale
connections when API Gateway's management API answers 410 for them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect

from reliability.test_races import APPROVER, REQUESTER, raised

if TYPE_CHECKING:
    from reliability.conftest import Figures
    from reliability.people import People

LIVE = 5
STALE = 5


def test_a_change_reaches_every_live_socket_and_stale_connections_are_removed(people: People, figures: Figures) -> None:
    requester = people.browser("listener", REQUESTER)
    approver = people.browser("approver", APPROVER)

    async def scenario() -> tuple[str, list[list[dict[str, Any]]], int]:
        sockets = [
            await connect(people.stack.websocket_url, additional_headers={"Cookie": requester.headers["Cookie"]})
            for _ in range(LIVE)
        ]
        try:
            for socket in sockets:
                await socket.send(json.dumps({"action": "subscribe", "topics": ["prs"]}))
                assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "subscribed"
            # Given as many connections again that API Gateway no longer knows
            with people.database() as connection:
                for _ in range(STALE):
                    connection.execute(
                        "INSERT INTO ws_connections (connection_id, user_id, topics, scopes, expires_at)"
                        " VALUES (%s, %s, ARRAY['prs'], ARRAY['pr.read'], now() + interval '1 hour')",
                        (f"gone-{uuid.uuid4()}=", requester.id),
                    )
            stale_before = stale_connections(people)
            # When a change is made
            pr_id = await asyncio.to_thread(
                raised, people, requester, [{"name": "One", "mode": "anyof", "approvers": [approver.id]}]
            )
            heard: list[list[dict[str, Any]]] = []
            for socket in sockets:
                events: list[dict[str, Any]] = []
                while not any(e.get("type") == "change" and e.get("id") == pr_id for e in events):
                    events.append(json.loads(await asyncio.wait_for(socket.recv(), 15)))
                heard.append(events)
            return pr_id, heard, stale_before
        finally:
            for socket in sockets:
                await socket.close()

    pr_id, heard, stale_before = asyncio.run(scenario())

    # Then every live socket heard it
    delivered = sum(any(event.get("id") == pr_id for event in events) for events in heard)
    assert delivered == LIVE
    # And the stale connections are gone from the table (removed as their posts answer 410)
    deadline = time.monotonic() + 10
    while (left := stale_connections(people)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stale_before == STALE
    assert left == 0
    figures.record(
        "broadcast: half the connections gone",
        live_delivered=delivered,
        stale_removed=stale_before - left,
        stale_left=left,
    )


def stale_connections(people: People) -> int:
    with people.database() as connection:
        row = connection.execute("SELECT count(*) FROM ws_connections WHERE connection_id LIKE 'gone-%'").fetchone()
    assert row is not None
    return int(row[0])
