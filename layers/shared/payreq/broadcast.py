"""The broadcaster's core: committed outbox rows to the WebSocket connections allowed to see them.

One pass claims a batch of undelivered rows with `FOR UPDATE SKIP LOCKED` (concurrent broadcasters
share the work, never the same row), numbers each row per topic (`sync_topics`, so clients detect
gaps), finds the connections subscribed to a matching topic whose user *currently* holds the read
permission of the entity, posts the small change message to each of them from a bounded thread
pool, deletes the connections API Gateway reports gone (410), and marks the rows `dispatched_at`
in the same transaction. A crash before that commit leaves the rows undelivered for the next pass:
delivery is at-least-once, and `eventId` lets clients drop duplicates. A connection that still fails
after the throttling retries misses that event; the per-topic `seq` shows the client the gap and
`GET /api/v1/sync/changes?since=<cursor>` fills it.

In the layer beside `payreq.outbox`: the message shape and the entity → read-permission map are
the outbox's contract with every reader (the broadcaster, the resync route, the topic checks).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from payreq.db import transaction
from payreq.db.schema import outbox, sync_topics, user_permissions, users, ws_connections
from payreq.observability import logger
from payreq.timestamps import utc_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sqlalchemy.engine import Connection, Engine, Row

# The read permission each entity's events need, checked against the connection user's current grants.
READ_PERMISSION = {
    "pr": "pr.read",
    "invoice": "invoice.read",
    "payment": "payment.read",
    "payment_method": "payment.read",
}
# API Gateway refuses frames over 32 KB; the messages are a few hundred bytes.
MAX_FRAME_BYTES = 32 * 1024
THROTTLE_ATTEMPTS = 5
THROTTLE_BASE_SECONDS = 0.05


def entity_of(topic: str) -> str | None:
    """`prs` and `pr:<id>` belong to `pr`; None for a topic that is not a known entity's."""
    name = topic.split(":", 1)[0] if ":" in topic else topic.removesuffix("s")
    return name if name in READ_PERMISSION else None


def change_message(row: Any, seqs: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The change as clients see it (also what `GET /api/v1/sync/changes` lists)."""
    message: dict[str, Any] = {
        "type": "change",
        "entity": row.entity,
        "id": row.entity_id,
        "version": row.version,
        "op": row.op,
        "at": utc_timestamp(row.occurred_at),
        "eventId": str(row.event_id),
        "cursor": row.id,
    }
    if seqs is not None:
        message["seq"] = dict(seqs)
    return message


@dataclass
class Outcome:
    events: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0
    throttled: int = 0

    def add(self, other: Outcome) -> None:
        for name in ("events", "sent", "gone", "failed", "throttled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@cache
def management_client(endpoint_url: str, concurrency: int = 32) -> Any:
    """boto3's `apigatewaymanagementapi` for the WebSocket API at `endpoint_url` (thread-safe, shared
    by the pool's threads; one HTTP connection per thread). No botocore retries: throttling is
    retried here with backoff, and a GoneException must not be retried at all."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=concurrency,
        connect_timeout=2,
        read_timeout=5,
    )
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=config)


def deliver_pending(
    engine: Engine,
    client: Any,
    *,
    batch_size: int = 100,
    concurrency: int = 32,
    max_batches: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Deliver every undelivered outbox row (batch after batch, until none is left)."""
    total = Outcome()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="broadcast") as pool:
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            with transaction(engine) as connection:
                outcome = _deliver_batch(connection, client, pool, batch_size=batch_size, now=clock())
            if outcome is None:
                break
            total.add(outcome)
    return total


def _deliver_batch(
    connection: Connection, client: Any, pool: ThreadPoolExecutor, *, batch_size: int, now: datetime
) -> Outcome | None:
    rows = connection.execute(
        select(outbox)
        .where(outbox.c.dispatched_at.is_(None))
        .order_by(outbox.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return None
    seqs = _number(connection, rows)
    subscribers = _subscribers(connection, {topic for row in rows for topic in row.topics}, now)
    sends: list[tuple[str, bytes]] = []
    for row in rows:
        permission = READ_PERMISSION.get(row.entity)
        if permission is None:
            logger.warning("outbox row of an unknown entity: delivered to nobody", extra={"entity": row.entity})
            continue
        for connection_id, topics, permissions in subscribers:
            matching = {topic: seqs[row.id][topic] for topic in row.topics if topic in topics}
            if matching and permission in permissions:
                data = json.dumps(change_message(row, matching), separators=(",", ":")).encode()
                if len(data) > MAX_FRAME_BYTES:  # cannot happen with ids and topic names, but never send it
                    logger.error("change message over 32 KB dropped", extra={"eventId": str(row.event_id)})
                    continue
                sends.append((connection_id, data))
    # Connections are served in parallel, but each one's messages go out in order, from one worker:
    # a client must see a request's changes in the order they were made.
    by_connection: dict[str, list[bytes]] = {}
    for connection_id, data in sends:
        by_connection.setdefault(connection_id, []).append(data)
    outcome = Outcome(events=len(rows))
    gone: set[str] = set()
    for connection_id, results in zip(
        by_connection,
        pool.map(lambda item: _post_in_order(client, *item), by_connection.items()),
        strict=True,
    ):
        for status, throttled in results:
            outcome.throttled += throttled
            if status == "sent":
                outcome.sent += 1
            elif status == "gone":
                outcome.gone += 1
                gone.add(connection_id)
            else:
                outcome.failed += 1
    if gone:
        connection.execute(delete(ws_connections).where(ws_connections.c.connection_id.in_(sorted(gone))))
    for row in rows:
        connection.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(dispatched_at=now, topic_seqs=[seqs[row.id][topic] for topic in row.topics])
        )
    logger.info(
        "outbox batch delivered",
        extra={
            "events": outcome.events,
            "sent": outcome.sent,
            "gone": outcome.gone,
            "failed": outcome.failed,
            "throttled": outcome.throttled,
        },
    )
    return outcome


def _number(connection: Connection, rows: Sequence[Row[Any]]) -> dict[int, dict[str, int]]:
    """Per-topic sequence numbers for the batch, in outbox order (a row delivered again keeps its own)."""
    fresh = [row for row in rows if row.topic_seqs is None]
    counts = Counter(topic for row in fresh for topic in row.topics)
    last: dict[str, int] = {}
    if counts:
        values = pg_insert(sync_topics).values([{"topic": topic, "seq": n} for topic, n in sorted(counts.items())])
        upsert = values.on_conflict_do_update(
            index_elements=[sync_topics.c.topic], set_={"seq": sync_topics.c.seq + values.excluded.seq}
        ).returning(sync_topics.c.topic, sync_topics.c.seq)
        last = {row.topic: row.seq for row in connection.execute(upsert)}
    following = {topic: last[topic] - n for topic, n in counts.items()}
    numbered: dict[int, dict[str, int]] = {}
    for row in rows:
        if row.topic_seqs is not None:
            numbered[row.id] = dict(zip(row.topics, row.topic_seqs, strict=False))
            continue
        numbered[row.id] = {}
        for topic in row.topics:
            following[topic] += 1
            numbered[row.id][topic] = following[topic]
    return numbered


def _subscribers(
    connection: Connection, topics: Iterable[str], now: datetime
) -> list[tuple[str, frozenset[str], frozenset[str]]]:
    """(connection id, its topics, its user's current permissions) of every live subscriber."""
    permissions = (
        select(func.array_agg(user_permissions.c.permission))
        .where(user_permissions.c.user_id == ws_connections.c.user_id)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(ws_connections.c.connection_id, ws_connections.c.topics, permissions.label("permissions"))
        .join(users, users.c.id == ws_connections.c.user_id)
        .where(
            ws_connections.c.topics.overlap(sorted(topics)),
            ws_connections.c.expires_at > now,
            users.c.is_active,
        )
        .order_by(ws_connections.c.connection_id)
    ).all()
    return [(row.connection_id, frozenset(row.topics), frozenset(row.permissions or ())) for row in rows]


def _post_in_order(client: Any, connection_id: str, messages: list[bytes]) -> list[tuple[str, int]]:
    """Post one connection's messages in order; stop at the first 410 (the connection is gone)."""
    results = []
    for data in messages:
        results.append(_post(client, connection_id, data))
        if results[-1][0] == "gone":
            break
    return results


def _post(client: Any, connection_id: str, data: bytes) -> tuple[str, int]:
    """("sent" | "gone" | "failed", how many times it was throttled)."""
    from botocore.exceptions import BotoCoreError, ClientError

    throttled = 0
    while True:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data)
            return "sent", throttled
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "GoneException" or status == 410:
                return "gone", throttled
            if status == 429 or code in {"LimitExceededException", "TooManyRequestsException", "ThrottlingException"}:
                throttled += 1
                if throttled < THROTTLE_ATTEMPTS:
                    time.sleep(THROTTLE_BASE_SECONDS * 2 ** (throttled - 1) * (1 + random.random()))
                    continue
            logger.warning("post_to_connection failed", extra={"connectionId": connection_id, "code": code})
            return "failed", throttled
        except BotoCoreError:
            logger.exception("post_to_connection failed", extra={"connectionId": connection_id})
            return "failed", throttled


def sweep_connections(engine: Engine, *, now: datetime | None = None) -> int:
    """Delete connections past their expiry (API Gateway has closed them); how many."""
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        result = connection.execute(delete(ws_connections).where(ws_connections.c.expires_at <= moment))
    return int(result.rowcount)
