"""The broadcaster's core: committed outbox rows to the WebSocket connections allowed to see them.

A pass works in three steps, and holds no database transaction while it talks to API Gateway:

1. **claim** (one short transaction): take a batch of undelivered rows nobody else holds
   (`FOR UPDATE SKIP LOCKED`, concurrent broadcasters share the work, never a row), number each
   row per topic (`sync_topics`, so clients detect gaps), mark them claimed for `CLAIM_SECONDS`,
   find the connections subscribed to a matching topic whose user *currently* holds the read
   permission of the entity, and commit;
2. **post** the small change message to each of them from a bounded thread pool, outside any
   transaction: a slow or throttled API Gateway never holds row locks, a pooled connection or the
   `sync_topics` counters (which every other pass's claim needs);
3. **settle** (one short transaction): delete the connections API Gateway reports gone (410), mark
   the rows every post of which went out `dispatched_at`, and give the rest a retry.

A post that fails in any other way (a 403 from a private-DNS `execute-api` endpoint or a missing
`execute-api:ManageConnections`, a 5xx, a timeout, throttling that outlasted its retries) is a
failure, not a delivery: its row is claimed again `RETRY_SECONDS` later (the next pass or the
1-minute sweep), up to `MAX_ATTEMPTS` passes, and only then given up with an error in the log. A
retry goes to every subscriber again, and a pass that dies after posting leaves its rows to be
claimed again when the claim lapses: delivery is at-least-once, `eventId` lets clients drop
duplicates, and a row keeps its per-topic `seq` through every retry. A client that missed an event
sees the gap in `seq` and fills it from `GET /api/v1/sync/changes?since=<cursor>`.

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
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, func, or_, select, update
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
# How long a pass may take to post a claimed batch before another pass may claim its rows again:
# longer than the broadcaster's 60 s timeout, so a live pass never races a second one for a row.
CLAIM_SECONDS = 90
# A row whose posts failed is claimed again after RETRY_SECONDS x its attempts (the 1-minute sweep
# or the next trigger picks it up), and given up after MAX_ATTEMPTS passes.
RETRY_SECONDS = 20
MAX_ATTEMPTS = 5


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
    # Rows whose posts failed, left for a later pass (`retrying`) or given up after MAX_ATTEMPTS.
    retrying: int = 0
    abandoned: int = 0

    def add(self, other: Outcome) -> None:
        for name in ("events", "sent", "gone", "failed", "throttled", "retrying", "abandoned"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Subscriber:
    connection_id: str
    topics: frozenset[str]
    permissions: frozenset[str]


@dataclass(frozen=True)
class Message:
    """One post: this row's change, as this connection may see it."""

    row_id: int
    data: bytes


@dataclass(frozen=True)
class Claim:
    """A batch claimed and committed: what to post, to whom, and what the rows were."""

    row_ids: tuple[int, ...]
    attempts: Mapping[int, int]
    # Each connection's messages in outbox order.
    messages: Mapping[str, Sequence[Message]]


PostStatus = Literal["sent", "gone", "failed"]


@dataclass(frozen=True)
class PostResult:
    status: PostStatus
    throttled: int = 0


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
    """Deliver every undelivered outbox row that is due (batch after batch, until none is left)."""
    total = Outcome()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="broadcast") as pool:
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            with transaction(engine) as connection:
                claim = claim_batch(connection, batch_size=batch_size, now=clock())
            if claim is None:
                break
            results = post_all(client, pool, claim.messages)
            with transaction(engine) as connection:
                outcome = settle(connection, claim, results, now=clock())
            total.add(outcome)
    return total


def claim_batch(connection: Connection, *, batch_size: int, now: datetime) -> Claim | None:
    """Claim, number and address a batch of due rows; None when there is nothing to deliver."""
    rows = connection.execute(
        select(outbox)
        .where(
            outbox.c.dispatched_at.is_(None),
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
        )
        .order_by(outbox.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return None
    seqs = _number(connection, rows)
    for row in rows:
        connection.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(
                claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                attempts=outbox.c.attempts + 1,
                topic_seqs=[seqs[row.id][topic] for topic in row.topics],
            )
        )
    subscribers = _subscribers(connection, {topic for row in rows for topic in row.topics}, now)
    messages: dict[str, list[Message]] = {}
    for row in rows:
        permission = READ_PERMISSION.get(row.entity)
        if permission is None:
            logger.warning("outbox row of an unknown entity: delivered to nobody", extra={"entity": row.entity})
            continue
        for subscriber in subscribers:
            matching = {topic: seqs[row.id][topic] for topic in row.topics if topic in subscriber.topics}
            if matching and permission in subscriber.permissions:
                data = json.dumps(change_message(row, matching), separators=(",", ":")).encode()
                if len(data) > MAX_FRAME_BYTES:  # cannot happen with ids and topic names, but never send it
                    logger.error("change message over 32 KB dropped", extra={"eventId": str(row.event_id)})
                    continue
                messages.setdefault(subscriber.connection_id, []).append(Message(row.id, data))
    return Claim(
        row_ids=tuple(row.id for row in rows),
        attempts={row.id: row.attempts + 1 for row in rows},
        messages=messages,
    )


def post_all(
    client: Any, pool: ThreadPoolExecutor, messages: Mapping[str, Sequence[Message]]
) -> dict[str, list[tuple[Message, PostResult]]]:
    """Post every connection's messages; connections in parallel, each one's in order."""
    # Each connection's messages go out in order, from one worker: a client must see a request's
    # changes in the order they were made (across passes, `seq` orders them).
    results = pool.map(lambda item: _post_in_order(client, *item), messages.items())
    return dict(zip(messages, results, strict=True))


def settle(
    connection: Connection,
    claim: Claim,
    results: Mapping[str, Sequence[tuple[Message, PostResult]]],
    *,
    now: datetime,
) -> Outcome:
    """Record what the posts did: gone connections deleted, delivered rows marked, failed ones retried."""
    outcome = Outcome(events=len(claim.row_ids))
    gone: set[str] = set()
    failed_rows: Counter[int] = Counter()
    for connection_id, posted in results.items():
        for message, result in posted:
            outcome.throttled += result.throttled
            if result.status == "sent":
                outcome.sent += 1
            elif result.status == "gone":
                outcome.gone += 1
                gone.add(connection_id)
            else:
                outcome.failed += 1
                failed_rows[message.row_id] += 1
    if gone:
        connection.execute(delete(ws_connections).where(ws_connections.c.connection_id.in_(sorted(gone))))
    delivered = [row_id for row_id in claim.row_ids if row_id not in failed_rows]
    retry = [row_id for row_id in failed_rows if claim.attempts[row_id] < MAX_ATTEMPTS]
    abandon = [row_id for row_id in failed_rows if claim.attempts[row_id] >= MAX_ATTEMPTS]
    if delivered or abandon:
        connection.execute(
            update(outbox).where(outbox.c.id.in_(delivered + abandon)).values(dispatched_at=now, claimed_until=None)
        )
    for row_id in retry:
        due = now + timedelta(seconds=RETRY_SECONDS * claim.attempts[row_id])
        connection.execute(update(outbox).where(outbox.c.id == row_id).values(claimed_until=due))
    outcome.retrying, outcome.abandoned = len(retry), len(abandon)
    if abandon:
        logger.error(
            "outbox rows given up after repeated failed posts; clients fill the gap from /api/v1/sync/changes",
            extra={"rows": abandon, "attempts": MAX_ATTEMPTS},
        )
    logger.info(
        "outbox batch delivered",
        extra={
            "events": outcome.events,
            "sent": outcome.sent,
            "gone": outcome.gone,
            "failed": outcome.failed,
            "throttled": outcome.throttled,
            "retrying": outcome.retrying,
            "abandoned": outcome.abandoned,
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


def _subscribers(connection: Connection, topics: Iterable[str], now: datetime) -> list[Subscriber]:
    """Every live subscriber to one of `topics`, with its topics and what it may read: its user's
    current permissions, never beyond the scopes of the credential that opened it."""
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
            users.c.is_active,
        )
        .order_by(ws_connections.c.connection_id)
    ).all()
    return [
        Subscriber(row.connection_id, frozenset(row.topics), frozenset(row.permissions or ()) & frozenset(row.scopes))
        for row in rows
    ]


def _post_in_order(client: Any, connection_id: str, messages: Sequence[Message]) -> list[tuple[Message, PostResult]]:
    """Post one connection's messages in order; stop at the first 410 (the connection is gone)."""
    results = []
    for message in messages:
        result = _post(client, connection_id, message.data)
        results.append((message, result))
        if result.status == "gone":
            break
    return results


def _post(client: Any, connection_id: str, data: bytes) -> PostResult:
    """Post one message: sent, gone (410), or failed (anything else, once throttling is exhausted)."""
    from botocore.exceptions import BotoCoreError, ClientError

    throttled = 0
    while True:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data)
            return PostResult("sent", throttled)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "GoneException" or status == 410:
                return PostResult("gone", throttled)
            if status == 429 or code in {"LimitExceededException", "TooManyRequestsException", "ThrottlingException"}:
                throttled += 1
                if throttled < THROTTLE_ATTEMPTS:
                    time.sleep(THROTTLE_BASE_SECONDS * 2 ** (throttled - 1) * (1 + random.random()))
                    continue
            # 403 included: API Gateway refused this caller (a private-DNS execute-api endpoint in the
            # VPC, or a missing ManageConnections permission), so nothing reached the client.
            logger.warning(
                "post_to_connection failed", extra={"connectionId": connection_id, "code": code, "status": status}
            )
            return PostResult("failed", throttled)
        except BotoCoreError:
            logger.exception("post_to_connection failed", extra={"connectionId": connection_id})
            return PostResult("failed", throttled)


def sweep_connections(engine: Engine, *, now: datetime | None = None) -> int:
    """Delete connections past their expiry (API Gateway has closed them); how many."""
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        result = connection.execute(delete(ws_connections).where(ws_connections.c.expires_at <= moment))
    return int(result.rowcount)
