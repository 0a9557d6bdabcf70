"""The broadcaster's core: committed outbox rows to the WebSocket connections allowed to see them.

Connections are hashed into `partitions` (a connection's `bucket`, fixed when it opens, modulo the
number of partitions), and each partition is delivered by its own pass: one invocation per
partition at a time (the sync queue is FIFO, one message group per partition), so one connection's
changes leave in outbox order, and ten partitions post at once from ten invocations.

A pass of partition `p` works in three steps, and holds no database transaction while it talks to
API Gateway:

1. **fan out and claim** (one short transaction): rows no pass has seen yet are numbered per topic
   (`sync_topics`, so clients detect gaps), given one delivery per partition
   (`outbox_deliveries`) and marked `dispatched_at` (rows are locked while this happens, so two
   passes never number a row twice). Then the pass takes a batch of `p`'s due deliveries nobody
   else holds (`FOR UPDATE SKIP LOCKED`), claims them for `CLAIM_SECONDS`, finds `p`'s connections
   subscribed to a matching topic whose user *currently* holds the read permission, and commits;
2. **post** the small change message to each of them over `concurrency` keep-alive connections
   (`payreq.connections_poster`, one event loop), outside any transaction: a slow or throttled
   API Gateway never holds row locks, a pooled connection or the `sync_topics` counters;
3. **settle** (one short transaction): delete the connections API Gateway reports gone (410), mark
   the deliveries every post of which went out `delivered_at`, and give the rest a retry.

A post that fails in any other way (a 403 from a private-DNS `execute-api` endpoint or a missing
`execute-api:ManageConnections`, a 5xx, a timeout, throttling that outlasted its retries) is a
failure, not a delivery: its delivery is claimed again `RETRY_SECONDS` later (the sweep nudges the
partition), up to `MAX_ATTEMPTS` passes, and only then given up with an error in the log. A retry
goes to every subscriber of the partition again, and a pass that dies after posting leaves its
deliveries to be claimed again when the claim lapses: delivery is at-least-once, `eventId` lets
clients drop duplicates, and a row keeps its per-topic `seq` through every retry. A client that
missed an event sees the gap in `seq` and fills it from `GET /api/v1/sync/changes?since=<cursor>`.

The decisions (who hears what, what an answer means, what a batch settles) are pure functions in
`payreq.broadcast_plan`; the message shape and the entity → read-permission map there are the
outbox's contract with every reader (the broadcaster, the resync route, the topic checks).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from payreq.auth.live_connections import CONNECTION_LIFETIME
from payreq.broadcast_plan import (
    MAX_ATTEMPTS,
    MAX_FRAME_BYTES,
    READ_PERMISSION,
    RETRY_SECONDS,
    Message,
    OutboxRow,
    Outcome,
    PostResult,
    Subscriber,
    address,
    change_message,
    entity_of,
    settle_plan,
    verdict,
)
from payreq.connections_poster import ConnectionsPoster, ConnectionUser, connections_poster
from payreq.db import read_connection, transaction
from payreq.db.records import records_of
from payreq.db.schema import outbox, outbox_deliveries, sync_topics, user_permissions, users, ws_connections
from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_FRAME_BYTES",
    "READ_PERMISSION",
    "RETRY_SECONDS",
    "Claim",
    "Outcome",
    "change_message",
    "connections_poster",
    "deliver_pending",
    "due_partitions",
    "entity_of",
    "sweep_connections",
]

THROTTLE_ATTEMPTS = 5
THROTTLE_BASE_SECONDS = 0.05
# How long a pass may take to post a claimed batch before another pass may claim its rows again:
# longer than the broadcaster's 60 s timeout, so a live pass never races a second one for a row.
CLAIM_SECONDS = 90
# Revoked connections closed per sweep at most (one DELETE each): the rest wait a minute.
CLOSE_BATCH = 500


class Claim:
    """A batch claimed and committed: the rows, and each connection's messages in outbox order."""

    __slots__ = ("messages", "rows")

    def __init__(self, rows: Sequence[OutboxRow], messages: Mapping[str, Sequence[Message]]) -> None:
        self.rows, self.messages = rows, messages


def deliver_pending(
    engine: Engine,
    poster: ConnectionsPoster,
    *,
    partition: int = 0,
    partitions: int = 1,
    batch_size: int = 100,
    concurrency: int = 32,
    max_batches: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Deliver partition `partition`'s due outbox rows (batch after batch, until none is left)."""
    total = Outcome()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction(engine) as connection:
            fanned = fan_out(connection, batch_size=batch_size, partitions=partitions, now=clock())
            claim = claim_batch(
                connection, partition=partition, partitions=partitions, batch_size=batch_size, now=clock()
            )
        if claim is None:
            if fanned:
                continue  # rows fanned out for other partitions only; there may be more to fan
            break
        results = post_all(poster, claim.messages, concurrency=concurrency)
        with transaction(engine) as connection:
            total.add(settle(connection, claim, results, partition=partition, now=clock()))
    return total


def fan_out(connection: Connection, *, batch_size: int, partitions: int, now: datetime) -> int:
    """Number the rows no pass has seen yet and give each a delivery per partition; how many.

    The rows are locked, not skipped: a second pass waits here for the first to commit, then
    claims the deliveries the first made for it (skipping would leave them to the next sweep)."""
    rows = connection.execute(
        select(outbox.c.id, outbox.c.topics, outbox.c.topic_seqs)
        .where(outbox.c.dispatched_at.is_(None))
        .order_by(outbox.c.id)
        .limit(batch_size)
        .with_for_update()
    ).all()
    if not rows:
        return 0
    seqs = _number(connection, rows)
    for row in rows:
        if row.topic_seqs is None:
            numbers = [seqs[row.id][topic] for topic in row.topics]
            connection.execute(update(outbox).where(outbox.c.id == row.id).values(topic_seqs=numbers))
    connection.execute(
        update(outbox).where(outbox.c.id.in_([row.id for row in rows])).values(dispatched_at=now, claimed_until=None)
    )
    deliveries = [{"outbox_id": row.id, "partition": p} for row in rows for p in range(partitions)]
    connection.execute(pg_insert(outbox_deliveries).values(deliveries).on_conflict_do_nothing())
    return len(rows)


def claim_batch(
    connection: Connection, *, partition: int, partitions: int, batch_size: int, now: datetime
) -> Claim | None:
    """Claim and address a batch of the partition's due deliveries; None when there is nothing to deliver."""
    due = (
        connection.execute(
            select(outbox_deliveries.c.outbox_id)
            .where(
                outbox_deliveries.c.partition == partition,
                outbox_deliveries.c.delivered_at.is_(None),
                or_(outbox_deliveries.c.claimed_until.is_(None), outbox_deliveries.c.claimed_until <= now),
            )
            .order_by(outbox_deliveries.c.outbox_id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    if not due:
        return None
    claimed = connection.execute(
        update(outbox_deliveries)
        .where(outbox_deliveries.c.partition == partition, outbox_deliveries.c.outbox_id.in_(due))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=outbox_deliveries.c.attempts + 1)
        .returning(outbox_deliveries.c.outbox_id, outbox_deliveries.c.attempts)
    ).all()
    attempts = {row.outbox_id: row.attempts for row in claimed}
    found = connection.execute(select(outbox).where(outbox.c.id.in_(due)).order_by(outbox.c.id)).mappings().all()
    rows = records_of(OutboxRow, [{**row, "attempts": attempts[row["id"]]} for row in found])
    for row in rows:
        if row.entity not in READ_PERMISSION:
            logger.warning("outbox row of an unknown entity: delivered to nobody", extra={"entity": row.entity})
    topics = {topic for row in rows for topic in row.topics}
    messages, oversized = address(rows, _subscribers(connection, topics, partition, partitions, now))
    for row in oversized:
        logger.error("change message over 32 KB dropped", extra={"eventId": str(row.event_id)})
    return Claim(rows, messages)


def post_all(
    poster: ConnectionsPoster, messages: Mapping[str, Sequence[Message]], *, concurrency: int
) -> dict[str, list[tuple[Message, PostResult]]]:
    """Post every connection's messages; connections side by side, each one's in order."""
    return poster.run(_post_everything(poster, messages, concurrency))


async def _post_everything(
    poster: ConnectionsPoster, messages: Mapping[str, Sequence[Message]], concurrency: int
) -> dict[str, list[tuple[Message, PostResult]]]:
    # Each connection's messages go out in order, from one worker: a client must see a request's
    # changes in the order they were made (across passes of a partition, the FIFO group keeps it).
    pending = iter(messages.items())
    results: dict[str, list[tuple[Message, PostResult]]] = {}

    async def worker() -> None:
        async with poster.connection() as http:
            for connection_id, queued in pending:
                results[connection_id] = await _post_in_order(http, connection_id, queued)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(messages)))))
    return {connection_id: results[connection_id] for connection_id in messages}


def settle(
    connection: Connection,
    claim: Claim,
    results: Mapping[str, Sequence[tuple[Message, PostResult]]],
    *,
    partition: int,
    now: datetime,
) -> Outcome:
    """Record what the posts did: gone connections deleted, delivered rows marked, failed ones retried."""
    plan = settle_plan(claim.rows, results)
    if plan.gone:
        connection.execute(delete(ws_connections).where(ws_connections.c.connection_id.in_(sorted(plan.gone))))
    finished = [*plan.delivered, *plan.abandoned]
    mine = outbox_deliveries.c.partition == partition
    if finished:
        connection.execute(
            update(outbox_deliveries)
            .where(mine, outbox_deliveries.c.outbox_id.in_(finished))
            .values(delivered_at=now, claimed_until=None)
        )
    for row_id, seconds in plan.retry.items():
        connection.execute(
            update(outbox_deliveries)
            .where(mine, outbox_deliveries.c.outbox_id == row_id)
            .values(claimed_until=now + timedelta(seconds=seconds))
        )
    outcome = plan.outcome
    if plan.abandoned:
        logger.error(
            "outbox rows given up after repeated failed posts; clients fill the gap from /api/v1/sync/changes",
            extra={"rows": list(plan.abandoned), "attempts": MAX_ATTEMPTS, "partition": partition},
        )
    logger.info(
        "outbox batch delivered",
        extra={"partition": partition, **outcome.counts()},
    )
    return outcome


def due_partitions(engine: Engine, *, partitions: int, now: datetime) -> list[int]:
    """The partitions with deliveries due now (every partition when rows wait to be fanned out)."""
    with transaction(engine) as connection:
        if connection.scalar(select(outbox.c.id).where(outbox.c.dispatched_at.is_(None)).limit(1)) is not None:
            return list(range(partitions))
        due = connection.scalars(
            select(outbox_deliveries.c.partition)
            .where(
                outbox_deliveries.c.delivered_at.is_(None),
                outbox_deliveries.c.partition < partitions,
                or_(outbox_deliveries.c.claimed_until.is_(None), outbox_deliveries.c.claimed_until <= now),
            )
            .distinct()
        ).all()
    return sorted(int(partition) for partition in due)


def _number(connection: Connection, rows: Sequence[Any]) -> dict[int, dict[str, int]]:
    """Per-topic sequence numbers for the batch, in outbox order (a row numbered before keeps its own)."""
    fresh = [row for row in rows if row.topic_seqs is None]
    counts: dict[str, int] = {}
    for row in fresh:
        for topic in row.topics:
            counts[topic] = counts.get(topic, 0) + 1
    last: dict[str, int] = {}
    if counts:
        values = pg_insert(sync_topics).values([{"topic": topic, "seq": n} for topic, n in sorted(counts.items())])
        upsert = values.on_conflict_do_update(
            index_elements=[sync_topics.c.topic], set_={"seq": sync_topics.c.seq + values.excluded.seq}
        ).returning(sync_topics.c.topic, sync_topics.c.seq)
        last = {row.topic: row.seq for row in connection.execute(upsert)}
    following = {topic: last[topic] - n for topic, n in counts.items()}
    numbered: dict[int, dict[str, int]] = {}
    for row in fresh:
        numbered[row.id] = {}
        for topic in row.topics:
            following[topic] += 1
            numbered[row.id][topic] = following[topic]
    return numbered


def _subscribers(
    connection: Connection, topics: Iterable[str], partition: int, partitions: int, now: datetime
) -> list[Subscriber]:
    """The partition's live subscribers to one of `topics`, with their topics and what they may
    read: the user's current permissions, never beyond the scopes of the credential that opened it."""
    permissions = (
        select(func.array_agg(user_permissions.c.permission))
        .where(user_permissions.c.user_id == ws_connections.c.user_id)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            ws_connections.c.connection_id,
            ws_connections.c.topics,
            ws_connections.c.scopes,
            permissions.label("permissions"),
        )
        .join(users, users.c.id == ws_connections.c.user_id)
        .where(
            ws_connections.c.topics.overlap(sorted(topics)),
            ws_connections.c.expires_at > now,
            ws_connections.c.bucket % partitions == partition,
            users.c.is_active,
        )
        .order_by(ws_connections.c.connection_id)
    ).all()
    return [
        Subscriber(row.connection_id, frozenset(row.topics), frozenset(row.permissions or ()) & frozenset(row.scopes))
        for row in rows
    ]


async def _post_in_order(
    http: ConnectionUser, connection_id: str, messages: Sequence[Message]
) -> list[tuple[Message, PostResult]]:
    """Post one connection's messages in order; stop at the first 410 (the connection is gone)."""
    results = []
    for message in messages:
        result = await _post(http, connection_id, message.data)
        results.append((message, result))
        if result.status == "gone":
            break
    return results


async def _post(http: ConnectionUser, connection_id: str, data: bytes) -> PostResult:
    """Post one message: sent, gone (410), or failed (anything else, once throttling is exhausted)."""
    throttled = 0
    while True:
        reply = await http.post(connection_id, data)
        meaning = verdict(reply)
        if meaning == "sent" or meaning == "gone":
            return PostResult(meaning, throttled)
        if meaning == "throttled":
            throttled += 1
            if throttled < THROTTLE_ATTEMPTS:
                await asyncio.sleep(THROTTLE_BASE_SECONDS * 2 ** (throttled - 1) * (1 + random.random()))
                continue
        logger.warning(
            "post_to_connection failed",
            extra={"connectionId": connection_id, "code": reply.error_type, "status": reply.status},
        )
        return PostResult("failed", throttled)


def sweep_connections(
    engine: Engine, close: Callable[[Sequence[str]], Collection[str]], *, now: datetime | None = None
) -> int:
    """Delete the connections that have ended; how many.

    One that ended before its two hours were up (its credential was revoked) may still be open at
    API Gateway: `close` closes those (`DELETE @connections/{id}`, outside any transaction) and
    answers the ids it closed or found gone; one it could not close stays for the next sweep,
    until API Gateway's own limit has surely closed it.
    """
    moment = now or datetime.now(UTC)
    ended = ws_connections.c.expires_at <= moment
    surely_closed = ws_connections.c.connected_at <= moment - CONNECTION_LIFETIME
    with read_connection(engine) as connection:
        still_open = connection.scalars(
            select(ws_connections.c.connection_id)
            .where(ended, ~surely_closed)
            .order_by(ws_connections.c.expires_at)
            .limit(CLOSE_BATCH)
        ).all()
    closed = sorted(close(still_open)) if still_open else []
    with transaction(engine) as connection:
        result = connection.execute(
            delete(ws_connections).where(ended, or_(surely_closed, ws_connections.c.connection_id.in_(closed)))
        )
    return int(result.rowcount)
