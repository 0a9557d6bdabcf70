"""Entry point of the broadcaster: delivers committed outbox rows to the WebSocket connections.

Invoked by the sync queue right after a flow commits a change (SQS messages only say "look";
the rows themselves are claimed from the outbox, so a batch of triggers costs one pass) and by a
schedule every minute, the sweep: anything a lost trigger left undelivered goes out then, and
connections past API Gateway's 2-hour limit are deleted. Posts that fail are retried by a later
pass, not by SQS: the handler returns normally, and `SyncMessagesFailed` / `SyncEventsAbandoned`
say what went wrong. See `payreq.broadcast`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from payreq import snapstart
from payreq.broadcast import deliver_pending, management_client, sweep_connections
from payreq.db import get_engine
from payreq.observability import instrument, logger, metrics
from payreq.settings import sync_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_BATCHES = 50


snapstart.register()


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.metrics import MetricUnit

    settings = sync_settings()
    if not settings.websocket_management_url:
        raise RuntimeError("PAYREQ_WEBSOCKET_MANAGEMENT_URL is not set")
    started = time.perf_counter()
    scheduled = event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event"
    engine = get_engine()
    outcome = deliver_pending(
        engine,
        management_client(settings.websocket_management_url, settings.broadcast_concurrency),
        batch_size=settings.broadcast_batch_size,
        concurrency=settings.broadcast_concurrency,
        # Bounded so a flood of changes cannot outrun the timeout; the next trigger or sweep goes on.
        max_batches=MAX_BATCHES,
    )
    expired = sweep_connections(engine) if scheduled else 0
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
        "events": outcome.events,
        "sent": outcome.sent,
        "gone": outcome.gone,
        "failed": outcome.failed,
        "throttled": outcome.throttled,
        "retrying": outcome.retrying,
        "abandoned": outcome.abandoned,
        "expiredConnections": expired,
        "ms": elapsed_ms,
    }
    logger.info("broadcast done", extra=summary)
    return summary
