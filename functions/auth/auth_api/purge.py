"""Scheduled (hourly): delete what has expired, the rules in `payreq.retention` (idempotency keys,
pending sign-ins, long-ended sessions, live-sync deliveries made). A run stops `MARGIN` before its
time is up and logs what is left; the next run goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from payreq import retention, snapstart
from payreq.db import get_engine
from payreq.observability import instrument, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

MARGIN = timedelta(seconds=10)

snapstart.register()


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    margin_ms = MARGIN.total_seconds() * 1000
    purged = retention.purge(
        get_engine(),
        now=datetime.now(UTC),
        out_of_time=lambda: context.get_remaining_time_in_millis() < margin_ms,
    )
    for name, count in purged.deleted.items():
        # PurgedIdempotencyKeys, PurgedPendingSignIns, PurgedEndedSessions, PurgedLiveSyncDeliveries
        metrics.add_metric(name=f"Purged{name.title().replace('_', '')}", unit=MetricUnit.Count, value=count)
    if purged.finished:
        logger.info("expired rows purged", extra={"deleted": purged.deleted})
    else:
        logger.warning("expired rows left for the next run: out of time", extra={"deleted": purged.deleted})
    return {"deleted": purged.deleted, "finished": purged.finished}
