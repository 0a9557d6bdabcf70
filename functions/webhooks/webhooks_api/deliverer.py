"""Entry point of the deliverer: fans committed outbox rows out into deliveries and sends the due ones.

Run every minute by a schedule (new events, and retries due more than SQS's 15-minute delay away)
and by the webhook queue: a replay, a re-enabled subscription, or a retry due within 15 minutes sends
a message, delayed until then. Messages only say "look": the work is claimed in the database, so a
duplicate or lost message costs nothing but a pass.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from payreq import snapstart
from payreq.context import RequestContext
from payreq.db import get_engine, transaction
from payreq.observability import instrument, logger, metrics
from webhooks_api import dependencies, dispatch, sender
from webhooks_api.delivery import Deliverer, deliver_due
from webhooks_api.flows import trigger_deliveries
from webhooks_api.settings import webhook_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_SQS_DELAY = 900

snapstart.register()


def _now() -> datetime:
    return datetime.now(UTC)


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.metrics import MetricUnit

    settings = webhook_settings()
    started = time.perf_counter()
    engine = get_engine()
    with transaction(engine) as connection:
        fanned_out = dispatch.fan_out(connection, now=_now())
    deliverer = Deliverer(
        box=dependencies.secret_box(),
        send=partial(sender.post, timeout=settings.timeout_seconds, max_bytes=settings.max_response_bytes),
        resolve=lambda host, port: dependencies.resolve(host, port),
        settings=settings,
        clock=_now,
    )
    outcome = deliver_due(engine, deliverer, RequestContext(request_id=context.aws_request_id, auth_method="system"))
    for delay in sorted(set(outcome.retries_in)):
        if delay <= MAX_SQS_DELAY:
            trigger_deliveries(delay)
    if fanned_out or outcome.succeeded or outcome.failed:
        metrics.add_metric(name="WebhookDeliveriesSucceeded", unit=MetricUnit.Count, value=outcome.succeeded)
        metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=outcome.failed)
        metrics.add_metric(name="WebhookDeliveriesGivenUp", unit=MetricUnit.Count, value=outcome.given_up)
        metrics.add_metric(name="WebhookSubscriptionsDisabled", unit=MetricUnit.Count, value=outcome.disabled)
    summary = {
        "fannedOut": fanned_out,
        "succeeded": outcome.succeeded,
        "failed": outcome.failed,
        "givenUp": outcome.given_up,
        "disabled": outcome.disabled,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("webhook pass done", extra=summary)
    return summary
