"""Fan-out: how fast one change reaches every subscribed WebSocket connection, and what each post costs.

Three measurements, each over real sockets:

- **poster CPU**: the CPU one `post_to_connection` costs the broadcaster's process, boto3's
  `apigatewaymanagementapi` client against the lean poster (`payreq.connections_poster`), both from
  32 threads as the broadcaster posts, to an `@connections` endpoint in its own process
  (`bench.connections_receiver`). boto3 is the baseline: what the broadcaster used before.
- **one invocation** (`fanout_1000_s`) and **partitions** (`fanout_10000_partition_max_s`): N
  connections in one partition, then 10 x N in 10 (rows of `ws_connections`, hashed into
  partitions as `$connect` hashes them); three rounds of changes (one, one, then two at once), each
  followed by every partition's broadcaster invocation (the real handler in a warm container, a
  queue message naming the partition), timed from the event to the handler's return (wall and
  this process's CPU); the figure is the slowest invocation delivering one change. The posts go to
  `bench.connections_receiver` in its own process, standing in for API Gateway: it counts what
  every connection got, and each must have had the 4 changes exactly once and in order, or the
  run fails. The invocations run in turn here (on Lambda they run side by side, each
  on its own CPU), so each one's time is its own.
- **the local stack** (`local_stack_*`): `make run` with N real WebSocket clients subscribed to
  `prs`, then a change (a payment request raised over HTTP): the broadcaster invocation's duration
  as the stack recorded it (its posts go through the local gateway, which pushes each down a socket
  on the same CPUs), and the time from the request until the last client had the change.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench import system
from support.local_stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

OPENING_AT_ONCE = 50
PARTITIONS = 10
# Changes committed before each round of invocations: one change to every connection is the
# figure; the last round's two changes at once check the order within one invocation's posts.
ROUNDS = (1, 1, 2)
FIGURE_ROUNDS = 2
POSTING_THREADS = 32
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def measure(*, connections: int) -> dict[str, Any]:
    """Every fan-out figure; `fanout_1000_s` and `fanout_10000_partition_max_s` are the targets'
    (with `connections` and 10 x `connections`: 1,000 and 10,000 in a full run)."""
    cpu = poster_cpu(posts=max(connections, 500))
    single = partitioned_fan_out(connections=connections, partitions=1)
    partitioned = partitioned_fan_out(connections=connections * PARTITIONS, partitions=PARTITIONS)
    stack = one_invocation(connections=connections)
    return {
        "fanout_1000_s": single["partition_max_s"],
        "fanout_10000_partition_max_s": partitioned["partition_max_s"],
        **{f"poster_{key}": value for key, value in cpu.items()},
        **{f"one_invocation_{key}": value for key, value in single.items()},
        **{f"partitioned_{key}": value for key, value in partitioned.items()},
        **{f"local_stack_{key}": value for key, value in stack.items()},
        "peer": "boto3 apigatewaymanagementapi (the broadcaster's poster before): CPU per post",
        "load": _load(),
    }


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {len(os.sched_getaffinity(0))} CPUs"


# ------------------------------------------------------------------------------------------ receiver


@contextmanager
def receiver() -> Iterator[str]:
    """An `@connections` endpoint in its own process; yields its base URL (`http://.../bench`)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.connections_receiver"],
        cwd=system.ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("PORT="):
            raise RuntimeError(f"the @connections receiver did not start: {line!r}")
        yield f"http://127.0.0.1:{line.removeprefix('PORT=')}/bench"
    finally:
        process.terminate()
        process.wait(10)


def received(url: str) -> dict[str, list[int]]:
    base = url.rsplit("/", 1)[0]
    return httpx.get(f"{base}/_received", timeout=60).json()  # type: ignore[no-any-return]


def forget(url: str) -> None:
    httpx.delete(f"{url.rsplit('/', 1)[0]}/_received", timeout=60)


# ---------------------------------------------------------------------------------------- poster CPU


def poster_cpu(*, posts: int, rounds: int = 2) -> dict[str, Any]:
    """CPU ms per post: boto3 from 32 threads (the broadcaster before) and the lean poster over 32
    connections as `payreq.broadcast.post_all` drives it, alternately (ABAB), medians of `rounds`."""
    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    from payreq.broadcast import post_all
    from payreq.broadcast_plan import Message
    from payreq.connections_poster import connections_poster

    with receiver() as url, ThreadPoolExecutor(POSTING_THREADS) as pool:
        boto = _boto3_client(url)
        lean = connections_poster(url, POSTING_THREADS)

        def with_boto3(batch: dict[str, bytes]) -> None:
            list(pool.map(lambda item: boto.post_to_connection(ConnectionId=item[0], Data=item[1]), batch.items()))

        def with_lean(batch: dict[str, bytes]) -> None:
            messages = {connection_id: [Message(1, data)] for connection_id, data in batch.items()}
            results = post_all(lean, messages, concurrency=POSTING_THREADS)
            if any(result.status != "sent" for posted in results.values() for _, result in posted):
                raise RuntimeError("the lean poster's posts were refused")

        senders: dict[str, Callable[[dict[str, bytes]], None]] = {"boto3": with_boto3, "lean": with_lean}
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in senders}
        for send in senders.values():  # warm: connections opened, models loaded
            _timed(send, 200)
        for _ in range(rounds):
            for name, send in senders.items():
                figures[name].append(_timed(send, posts))
    result: dict[str, Any] = {"posts": posts, "concurrency": POSTING_THREADS}
    for name, runs in figures.items():
        result[f"{name}_cpu_ms"] = statistics.median(cpu for cpu, _ in runs) * 1000 / posts
        result[f"{name}_wall_s"] = statistics.median(wall for _, wall in runs)
    return result


def _boto3_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=POSTING_THREADS,
        connect_timeout=2,
        read_timeout=5,
    )
    return boto3.client("apigatewaymanagementapi", endpoint_url=url, config=config)


def _timed(send: Callable[[dict[str, bytes]], None], count: int) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) to post `count` change messages, one per connection."""
    batch = {
        f"Bz{uuid.uuid4().hex[:10]}=": json.dumps({"type": "change", "cursor": n, "id": str(uuid.uuid4())}).encode()
        for n in range(count)
    }
    cpu, wall = time.process_time(), time.perf_counter()
    send(batch)
    return time.process_time() - cpu, time.perf_counter() - wall


# ------------------------------------------------------------------------------------ one invocation


def one_invocation(*, connections: int) -> dict[str, Any]:
    """N real WebSocket clients on the local stack, one change; the broadcaster's invocation timed."""
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
    # An inline approval flow needs flows.manage (the stack has no demo flow templates here).
    writer = stack.session_cookie("alice@example.com", ["pr.read", "pr.write", "flows.manage"])
    opening = time.perf_counter()
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    sockets = await asyncio.gather(*(_subscribed(stack, reader, gate) for _ in range(connections)))
    opened = time.perf_counter() - opening
    try:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
            bob = (await client.get("/api/v1/me", headers={"Cookie": reader})).json()["id"]
            # The first change also starts the broadcaster's container; the second is the figure.
            first = await _one_change(client, sockets, writer, bob)
            before = stack.latest_seq()
            second = await _one_change(client, sockets, writer, bob)
            await asyncio.sleep(0.5)  # the invocation's record lands once it has returned
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    delivering = [
        item
        for item in stack.invocations(function="BroadcasterFunction", since=before)
        if item.get("source") == "sqs" and item.get("status") == "ok"
    ]
    durations = [float(item.get("durationMs", 0)) / 1000 for item in delivering]
    return {
        "connections": connections,
        "clients_reached": second["clients_reached"],
        "broadcaster_invocation_s": max(durations) if durations else float("nan"),
        "broadcaster_invocations": len(delivering),
        "open_and_subscribe_all_s": opened,
        "request_answered_s": second["answered_s"],
        "first_client_s": second["first_s"],
        "last_client_s": second["last_s"],
        "last_client_first_change_s": first["last_s"],
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


# ---------------------------------------------------------------------------------------- partitions


def partitioned_fan_out(*, connections: int, partitions: int) -> dict[str, Any]:
    """In a child process (its own environment and engine): see `_partitioned`."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.fanout", str(connections), str(partitions)],
        cwd=system.ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the partitioned fan-out failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if result["lost"] or result["doubled"] or result["out_of_order"]:
        raise RuntimeError(f"the partitioned fan-out lost, doubled or reordered changes: {result}")
    return result


def _partitioned(connections: int, partitions: int) -> dict[str, Any]:
    from sqlalchemy import insert

    from payreq.broadcast_plan import bucket_of, partition_of
    from payreq.db.schema import user_permissions, users, ws_connections

    with system.database() as database_url, receiver() as url:
        environment = system.function_environment("BroadcasterFunction", database_url)
        environment.update(
            PAYREQ_WEBSOCKET_MANAGEMENT_URL=url,
            PAYREQ_SYNC_PARTITIONS=str(partitions),
            PAYREQ_SYNC_QUEUE_URL="",
            POWERTOOLS_LOG_LEVEL="WARNING",
        )
        system.use_environment(environment)
        from payreq.db import get_engine, transaction
        from payreq.outbox import publish_change
        from support.lambda_context import FakeLambdaContext
        from sync_api import broadcaster

        engine = get_engine()
        reader = uuid.uuid4()
        ids = [f"Bz{uuid.uuid4().hex[:10]}=" for _ in range(connections)]
        with transaction(engine) as connection:
            connection.execute(insert(users).values(id=reader, email="reader@example.com", display_name="Reader"))
            connection.execute(insert(user_permissions).values(user_id=reader, permission="pr.read"))
            connection.execute(
                insert(ws_connections),
                [
                    {
                        "connection_id": connection_id,
                        "user_id": reader,
                        "topics": ["prs"],
                        "scopes": ["pr.read"],
                        "expires_at": _in_an_hour(),
                        "bucket": bucket_of(connection_id),
                    }
                    for connection_id in ids
                ],
            )
        # A warm container: the first invocation's imports and connections are not the figure.
        broadcaster.lambda_handler(_queued(0), FakeLambdaContext("BroadcasterFunction", time_limit_ms=60_000))
        seconds: list[list[float]] = []
        cpu_seconds: list[list[float]] = []
        sent = 0
        for changes in ROUNDS:
            for _ in range(changes):
                with transaction(engine) as connection:
                    publish_change(connection, entity="pr", entity_id=uuid.uuid4(), op="created", version=1)
            seconds.append([])
            cpu_seconds.append([])
            for partition in range(partitions):
                started, cpu = time.perf_counter(), time.process_time()
                summary = broadcaster.lambda_handler(
                    _queued(partition), FakeLambdaContext("BroadcasterFunction", time_limit_ms=60_000)
                )
                seconds[-1].append(time.perf_counter() - started)
                cpu_seconds[-1].append(time.process_time() - cpu)
                sent += int(summary["sent"])
        heard = received(url)
        with engine.connect() as connection:
            from sqlalchemy import select

            from payreq.db.schema import outbox

            cursors = list(connection.scalars(select(outbox.c.id).order_by(outbox.c.id)))
    sizes = [0] * partitions
    for connection_id in ids:
        sizes[partition_of(bucket_of(connection_id), partitions)] += 1
    got = [heard.get(connection_id, []) for connection_id in ids]
    # One change to every connection of a partition: the figure (the two-change round aside).
    single = [value for round_seconds in seconds[:FIGURE_ROUNDS] for value in round_seconds]
    single_cpu = [value for round_cpu in cpu_seconds[:FIGURE_ROUNDS] for value in round_cpu]
    return {
        "connections": connections,
        "partitions": partitions,
        "changes": sum(ROUNDS),
        "partition_max_s": max(single),
        "partition_median_s": statistics.median(single),
        "partition_min_s": min(single),
        "partition_max_cpu_s": max(single_cpu),
        "partition_median_cpu_s": statistics.median(single_cpu),
        "two_changes_partition_max_s": max(seconds[-1]),
        "connections_per_partition_min": min(sizes),
        "connections_per_partition_max": max(sizes),
        "posts_sent": sent,
        "lost": sum(1 for cursors_got in got for cursor in cursors if cursor not in cursors_got),
        "doubled": sum(len(cursors_got) - len(set(cursors_got)) for cursors_got in got),
        "out_of_order": sum(1 for cursors_got in got if cursors_got != sorted(cursors_got)),
    }


def _queued(partition: int) -> dict[str, Any]:
    """The sync queue's event for one partition's trigger, as Lambda's FIFO poller hands it over."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "body": json.dumps({"outbox": True, "partition": partition}),
                "attributes": {"MessageGroupId": f"partition-{partition}"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payreq-bench-sync.fifo",
            }
        ]
    }


def _in_an_hour() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=1)


if __name__ == "__main__":
    print(json.dumps(_partitioned(int(sys.argv[1]), int(sys.argv[2]))))
