"""Entry point of the broadcaster: delivers committed outbox rows to the WebSocket connections.

Invoked by the sync queue right after a flow commits a change and by a schedule every minute.

- A queue message names one partition of the connections (`{"outbox": true, "partition": p}`; the
  FIFO queue's message group is the partition, so Lambda runs one invocation per partition at a
  time and the partitions side by side). The rows themselves are claimed from the outbox, so a
  batch of triggers costs one pass per partition named. A message without a partition (sent by
  hand, or by code from before partitions) nudges every partition.
- The sweep delivers nothing itself, so a partition never has two passes at once: it sends the
  queue a message for each partition with deliveries due (a lost trigger, a retry whose time has
  come) and deletes connections past API Gateway's 2-hour limit. With no queue configured (tests,
  a stack without one) it delivers every partition in turn.

Posts that fail are retried by a later pass, not by SQS: the handler returns normally, and
`SyncMessagesFailed` / `SyncEventsAbandoned` say what went wrong. See `payreq.broadcast`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSEvent

from payreq import aws, snapstart
from payreq.broadcast import connections_poster, deliver_pending, due_partitions, sweep_connections
from payreq.broadcast_plan import Outcome, partitions_asked
from payreq.db import get_engine
from payreq.observability import instrument, logger, metrics
from payreq.outbox import nudge
from payreq.settings import SyncSettings, sync_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from sqlalchemy.engine import Engine

MAX_BATCHES = 50
CLOSE_ATTEMPTS = 2


def is_scheduled(event: dict[str, Any]) -> bool:
    if "Records" in event:
        return False
    schedule = EventBridgeEvent(event)
    return schedule.get("source") == "aws.events" or schedule.get("detail-type") == "Scheduled Event"


def deliver(engine: Engine, settings: SyncSettings, partitions: list[int]) -> Outcome:
    """One pass per partition, in turn."""
    if not settings.websocket_management_url:
        raise RuntimeError("PAYREQ_WEBSOCKET_MANAGEMENT_URL is not set")
    poster = connections_poster(settings.websocket_management_url, settings.broadcast_concurrency)
    total = Outcome()
    for partition in partitions:
        total.add(
            deliver_pending(
                engine,
                poster,
                partition=partition,
                partitions=settings.sync_partitions,
                batch_size=settings.broadcast_batch_size,
                concurrency=settings.broadcast_concurrency,
                # Bounded so a flood of changes cannot outrun the timeout; the next trigger or sweep goes on.
                max_batches=MAX_BATCHES,
            )
        )
    return total


def closer(management_url: str) -> Callable[[Sequence[str]], set[str]]:
    """Close connections at API Gateway; the ids closed or already gone. Rare (a revoked credential's
    sockets), so boto3's client rather than the lean poster.

    One retry, and the first failure stops the run: the rest wait for the next sweep a minute later.
    An unreachable endpoint so costs one close's two attempts (connect 2 s + read 5 s each, under
    1 s of backoff: 15 s at the worst), well inside the sweep's 60 s.
    """

    def close(connection_ids: Sequence[str]) -> set[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        management = aws.client("apigatewaymanagementapi", endpoint_url=management_url, attempts=CLOSE_ATTEMPTS)
        closed: set[str] = set()
        for connection_id in connection_ids:
            try:
                management.delete_connection(ConnectionId=connection_id)
            except management.exceptions.GoneException:
                pass
            except (BotoCoreError, ClientError) as error:
                # Unreachable, refused or throttled: the same for the rest, which wait for the next sweep.
                logger.warning(
                    "connections not closed", extra={"left": len(connection_ids) - len(closed), "error": str(error)}
                )
                break
            closed.add(connection_id)
        return closed

    return close


def sweep(engine: Engine, settings: SyncSettings) -> tuple[Outcome, list[int]]:
    """Nudge (or, with no queue, deliver) the partitions with deliveries due."""
    due = due_partitions(engine, partitions=settings.sync_partitions, now=datetime.now(UTC))
    if due and settings.sync_queue_url:
        nudge(settings.sync_queue_url, due)
        return Outcome(), due
    return deliver(engine, settings, due), []


def queued(engine: Engine, settings: SyncSettings, event: dict[str, Any]) -> tuple[Outcome, list[int]]:
    """Deliver the partitions the messages name; nudge all of them for a message that names none."""
    bodies = [record.body for record in SQSEvent(event).records]
    asked, everything = partitions_asked(bodies, settings.sync_partitions)
    if everything and settings.sync_queue_url:
        others = [partition for partition in range(settings.sync_partitions) if partition not in asked]
        nudge(settings.sync_queue_url, others)
        return deliver(engine, settings, asked), others
    return deliver(engine, settings, list(range(settings.sync_partitions)) if everything else asked), []


# The poster keeps the snapshot's credentials and sockets: a restored environment builds its own.
snapstart.register(forget=(connections_poster.cache_clear,))


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.metrics import MetricUnit

    settings = sync_settings()
    if not settings.websocket_management_url:
        raise RuntimeError("PAYREQ_WEBSOCKET_MANAGEMENT_URL is not set")
    started = time.perf_counter()
    scheduled = is_scheduled(event)
    engine = get_engine()
    outcome, nudged = sweep(engine, settings) if scheduled else queued(engine, settings, event)
    expired = sweep_connections(engine, closer(settings.websocket_management_url)) if scheduled else 0
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if outcome.events or outcome.sent or outcome.gone or outcome.failed or outcome.abandoned:
        # Only a pass that did something is counted: the sweep runs every minute, and an idle one
        # would print (and bill) a metrics line of zeros each time.
        metrics.add_metric(name="SyncEventsDelivered", unit=MetricUnit.Count, value=outcome.events)
        metrics.add_metric(name="SyncMessagesSent", unit=MetricUnit.Count, value=outcome.sent)
        metrics.add_metric(name="SyncConnectionsGone", unit=MetricUnit.Count, value=outcome.gone)
        metrics.add_metric(name="SyncMessagesFailed", unit=MetricUnit.Count, value=outcome.failed)
        metrics.add_metric(name="SyncEventsAbandoned", unit=MetricUnit.Count, value=outcome.abandoned)
    summary = {
        "trigger": "schedule" if scheduled else "queue",
        **outcome.counts(),
        "nudged": nudged,
        "expiredConnections": expired,
        "ms": elapsed_ms,
    }
    logger.info("broadcast done", extra=summary)
    return summary
