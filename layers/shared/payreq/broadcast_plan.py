"""The broadcaster's decisions, apart from its I/O: which partition a connection is in, which
connection gets which change, what API Gateway's answer means, and what a batch's posts settle.

`payreq.broadcast` claims and settles in the database and posts over HTTP; everything it decides
on the way is a pure function here, tested without a database or a socket.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from payreq.timestamps import utc_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from payreq.connections_poster import Reply

# The read permission each entity's events need, checked against the connection user's current grants.
READ_PERMISSION = {
    "pr": "pr.read",
    "invoice": "invoice.read",
    "payment": "payment.read",
    "payment_method": "payment.read",
    "webhook": "webhooks.manage",
    "delegation": "pr.read",
}
# API Gateway refuses frames over 32 KB; the messages are a few hundred bytes.
MAX_FRAME_BYTES = 32 * 1024
# A connection's bucket is fixed when it opens; its partition is `bucket % partitions`, so the
# number of partitions can change (up to BUCKETS) without touching a stored row.
BUCKETS = 4096
# A row whose posts failed is claimed again after RETRY_SECONDS x its attempts, and given up after
# MAX_ATTEMPTS passes.
RETRY_SECONDS = 20
MAX_ATTEMPTS = 5
THROTTLING = frozenset({"LimitExceededException", "TooManyRequestsException", "ThrottlingException"})

Verdict = Literal["sent", "gone", "throttled", "failed"]
PostStatus = Literal["sent", "gone", "failed"]


def bucket_of(connection_id: str) -> int:
    """A stable hash of the connection id (the same in every process and Python version)."""
    return zlib.crc32(connection_id.encode()) % BUCKETS


def partition_of(bucket: int, partitions: int) -> int:
    return bucket % partitions


def entity_of(topic: str) -> str | None:
    """`prs` and `pr:<id>` belong to `pr`; None for a topic that is not a known entity's."""
    name = topic.split(":", 1)[0] if ":" in topic else topic.removesuffix("s")
    return name if name in READ_PERMISSION else None


def verdict(reply: Reply) -> Verdict:
    """What an answer from `@connections` means for the message posted."""
    if 200 <= reply.status < 300:
        return "sent"
    if reply.status == 410 or reply.error_type == "GoneException":
        return "gone"
    if reply.status == 429 or reply.error_type in THROTTLING:
        return "throttled"
    # A 403 included: API Gateway refused this caller (a private-DNS execute-api endpoint in the VPC,
    # or a missing ManageConnections permission), so nothing reached the client. Likewise a 5xx and
    # a timeout (status 0): the row is retried by a later pass, never counted delivered.
    return "failed"


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


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """An outbox row: a committed change (its per-topic numbers in `topic_seqs` once numbered)."""

    id: int
    event_id: Any
    occurred_at: datetime
    entity: str
    entity_id: str
    op: str
    version: int | None
    topics: list[str]
    topic_seqs: list[int] | None


@dataclass(frozen=True, slots=True)
class OutboxRow(ChangeRow):
    """A change to deliver, as a partition's claim read it."""

    attempts: int  # this partition's passes so far, this one included


@dataclass(frozen=True, slots=True)
class Subscriber:
    connection_id: str
    topics: frozenset[str]
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Message:
    """One post: this row's change, as this connection may see it."""

    row_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PostResult:
    status: PostStatus
    throttled: int = 0


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
        for name, count in other.counts().items():
            setattr(self, name, getattr(self, name) + count)

    def counts(self) -> dict[str, int]:
        """Every count by name, as logs and the broadcaster's answer show them."""
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}


@dataclass(frozen=True)
class Settlement:
    """What a batch's posts leave to record."""

    gone: frozenset[str]  # connections API Gateway no longer knows: deleted
    delivered: tuple[int, ...]  # rows every post of which went out (or nobody was to hear)
    retry: Mapping[int, int]  # row id -> seconds until its next attempt
    abandoned: tuple[int, ...]  # rows whose posts failed on the last attempt
    outcome: Outcome = field(default_factory=Outcome)


def address(
    rows: Sequence[OutboxRow], subscribers: Iterable[Subscriber]
) -> tuple[dict[str, list[Message]], list[OutboxRow]]:
    """Each connection's messages, in outbox order, and the rows too big to send (never sent).

    A connection hears a row when it subscribes to one of the row's topics and may read its entity;
    the message carries the sequence numbers of the topics it subscribes to only."""
    readers = list(subscribers)
    messages: dict[str, list[Message]] = {}
    oversized: list[OutboxRow] = []
    for row in rows:
        permission = READ_PERMISSION.get(row.entity)
        if permission is None:
            continue
        seqs = dict(zip(row.topics, row.topic_seqs or (), strict=False))
        for reader in readers:
            matching = {topic: seq for topic, seq in seqs.items() if topic in reader.topics}
            if not matching or permission not in reader.permissions:
                continue
            data = json.dumps(change_message(row, matching), separators=(",", ":")).encode()
            if len(data) > MAX_FRAME_BYTES:  # cannot happen with ids and topic names, but never send it
                oversized.append(row)
                continue
            messages.setdefault(reader.connection_id, []).append(Message(row.id, data))
    return messages, oversized


def settle_plan(rows: Sequence[OutboxRow], results: Mapping[str, Sequence[tuple[Message, PostResult]]]) -> Settlement:
    """Sort a batch's posts into gone connections, delivered rows, rows to retry and rows given up."""
    outcome = Outcome(events=len(rows))
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
    attempts = {row.id: row.attempts for row in rows}
    retry = {row_id: RETRY_SECONDS * attempts[row_id] for row_id in failed_rows if attempts[row_id] < MAX_ATTEMPTS}
    abandoned = tuple(row_id for row_id in failed_rows if attempts[row_id] >= MAX_ATTEMPTS)
    outcome.retrying, outcome.abandoned = len(retry), len(abandoned)
    delivered = tuple(row.id for row in rows if row.id not in failed_rows)
    return Settlement(frozenset(gone), delivered, retry, abandoned, outcome)


def partitions_asked(bodies: Iterable[str], partitions: int) -> tuple[list[int], bool]:
    """The partitions a batch of sync-queue messages asks to deliver, and whether one asked for all
    (a message without a partition: sent by code from before partitions, or by hand)."""
    asked: set[int] = set()
    everything = False
    for body in bodies:
        try:
            partition = json.loads(body).get("partition")
        except (ValueError, AttributeError):
            partition = None
        if isinstance(partition, int) and 0 <= partition < partitions:
            asked.add(partition)
        else:
            everything = True
    return sorted(asked), everything
