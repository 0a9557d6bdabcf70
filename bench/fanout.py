"""Fan-out through the local stack, over real sockets: N WebSocket clients subscribed to `prs`,
then one change (a payment request raised over HTTP). Measured from the moment the request is
sent until the last client has the change: the commit, the outbox trigger on the sync queue, the
queue poll, the broadcaster, and N posts to @connections, each pushed down its socket."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench import system  # noqa: F401  (puts tests/ on sys.path)
from support.local_stack import LocalStack

OPENING_AT_ONCE = 50


def measure(*, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="payreq-bench-stack-") as scratch:
        # No demo data: its changes would be a backlog for the first broadcast to work through.
        stack = LocalStack.start(Path(scratch) / "postgres", "--no-seed")
        try:
            return asyncio.run(_fan_out(stack, connections))
        finally:
            try:
                stack.interrupt()
            finally:
                stack.kill()


async def _subscribed(stack: LocalStack, cookie: str, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        socket = await connect(stack.websocket_url, additional_headers={"Cookie": cookie}, open_timeout=60)
        await socket.send(json.dumps({"action": "subscribe", "topics": ["prs"]}))
        reply = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if reply.get("type") != "subscribed":
            raise RuntimeError(f"subscribe was answered with {reply}")
        return socket


async def _arrival(socket: ClientConnection, created: asyncio.Future[str]) -> float:
    """When this client heard of the request raised (known only once the POST has answered)."""
    heard: dict[str, float] = {}
    while True:
        receiving = asyncio.ensure_future(socket.recv())
        either: set[asyncio.Future[Any]] = {receiving, created}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if receiving.done():
            message = json.loads(receiving.result())
            if message.get("type") == "change" and message.get("op") == "created":
                heard[message["id"]] = time.perf_counter()
        else:
            receiving.cancel()
        if created.done() and created.result() in heard:
            return heard[created.result()]


async def _fan_out(stack: LocalStack, connections: int) -> dict[str, Any]:
    reader = stack.session_cookie("bob@example.com", ["pr.read"])
    writer = stack.session_cookie("alice@example.com", ["pr.read", "pr.write"])
    opening = time.perf_counter()
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    sockets = await asyncio.gather(*(_subscribed(stack, reader, gate) for _ in range(connections)))
    opened = time.perf_counter() - opening
    try:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
            bob = (await client.get("/api/v1/me", headers={"Cookie": reader})).json()["id"]
            # The first change also starts the broadcaster's container; the second is the figure.
            first = await _one_change(client, sockets, writer, bob)
            second = await _one_change(client, sockets, writer, bob)
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    broadcasts = [item for item in stack.invocations() if item.get("function") == "BroadcasterFunction"]
    return {
        "connections": connections,
        "clients_reached": second["clients_reached"],
        "open_and_subscribe_all_s": opened,
        "request_answered_s": second["answered_s"],
        "first_client_s": second["first_s"],
        "last_client_s": second["last_s"],
        "last_client_first_change_s": first["last_s"],
        "broadcaster_invocations": len(broadcasts),
        "broadcaster_last_ms": float(broadcasts[-1].get("durationMs", 0)) if broadcasts else 0.0,
    }


async def _one_change(
    client: httpx.AsyncClient, sockets: list[ClientConnection], writer: str, bob: str
) -> dict[str, Any]:
    created_id: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiting = [asyncio.ensure_future(_arrival(socket, created_id)) for socket in sockets]
    await asyncio.sleep(0.5)  # every listener is reading before the change is made
    sent = time.perf_counter()
    created = await client.post(
        "/api/v1/prs",
        headers={"Cookie": writer, "X-Requested-With": "payreq-bench"},
        json={
            "title": "Standing desks",
            "payee": "ACME GmbH",
            "amount": "990.00",
            "currency": "EUR",
            "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [bob]}],
        },
    )
    answered = time.perf_counter()
    if created.status_code != 201:
        raise RuntimeError(f"raising the request failed: {created.status_code} {created.text}")
    created_id.set_result(created.json()["id"])
    arrivals = await asyncio.wait_for(asyncio.gather(*waiting), 120)
    return {
        "clients_reached": len(arrivals),
        "answered_s": answered - sent,
        "first_s": min(arrivals) - sent,
        "last_s": max(arrivals) - sent,
    }
