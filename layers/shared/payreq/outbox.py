"""The outbox writer: announces a change in the same transaction as the change.

The broadcaster delivers rows to WebSocket clients only after commit, so a rolled-back change
is never announced and a committed one is never lost: right after the commit, `publish_change`'s
trigger asks the broadcaster to run (a message on the sync queue); if that message cannot be sent,
the broadcaster's scheduled sweep delivers the row a minute later.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import insert

from payreq.db.schema import outbox
from payreq.db.transaction import after_commit
from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.engine import Connection

Operation = Literal["created", "updated", "deleted"]

_TRIGGER_KEY = "payreq.outbox.trigger"


def default_topics(entity: str, entity_id: str) -> list[str]:
    """The collection topic (`prs`) and the entity's own topic (`pr:<id>`)."""
    return [f"{entity}s", f"{entity}:{entity_id}"]


def publish_change(
    connection: Connection,
    *,
    entity: str,
    entity_id: object,
    op: Operation,
    version: int | None = None,
    topics: Sequence[str] | None = None,
    action: str | None = None,
) -> uuid.UUID:
    """Put a change in the outbox. `action` (`pr.submitted`, as audited) is the webhook event type;
    without it webhooks announce `<entity>.<op>`."""
    event_id = uuid.uuid4()
    key = str(entity_id)
    connection.execute(
        insert(outbox).values(
            event_id=event_id,
            entity=entity,
            entity_id=key,
            op=op,
            version=version,
            topics=list(topics) if topics is not None else default_topics(entity, key),
            action=action,
        )
    )
    # One trigger per transaction however many rows it wrote; outside `transaction()` there is no
    # commit to wait for here, and the sweep delivers.
    after_commit(connection, _TRIGGER_KEY, trigger_broadcast)
    return event_id


def trigger_broadcast() -> None:
    """Ask the broadcaster to deliver now (after commit), one message per partition. Never raises:
    the change has committed, and an undelivered row is the scheduled sweep's to deliver."""
    from payreq.settings import sync_settings

    try:
        settings = sync_settings()
        if settings.sync_queue_url:
            nudge(settings.sync_queue_url, range(settings.sync_partitions))
    except Exception:
        logger.exception("live-sync trigger failed; the broadcaster's sweep will deliver the change")


def nudge(queue_url: str, partitions: Iterable[int]) -> None:
    """Send the sync queue one message per partition. On a FIFO queue each partition is its own
    message group, so Lambda runs one broadcaster at a time per partition (one connection's changes
    leave in order) and the partitions in parallel."""
    from payreq import aws

    fifo = queue_url.endswith(".fifo")
    entries: list[dict[str, Any]] = []
    for partition in partitions:
        entry: dict[str, Any] = {
            "Id": str(partition),
            "MessageBody": json.dumps({"outbox": True, "partition": partition}),
        }
        if fifo:
            # Every trigger counts (a later one may follow a commit the earlier pass did not see):
            # never deduplicated.
            entry.update(MessageGroupId=f"partition-{partition}", MessageDeduplicationId=uuid.uuid4().hex)
        entries.append(entry)
    sqs = aws.client("sqs")
    for start in range(0, len(entries), 10):
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries[start : start + 10])
        if reply.get("Failed"):
            raise RuntimeError(f"sync queue refused triggers: {reply['Failed']}")
