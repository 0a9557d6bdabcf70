"""The deliverer's pass: each subscription's pending deliveries go out oldest first, one at a time,
signed; a failure holds the ones behind it back (order per subscription) until its retry succeeds or
it is given up after the last retry. Subscriptions whose deliveries keep being given up are disabled.

A pass claims the subscriptions it serves and commits before posting, so no transaction stays open
while a receiver takes its time, and two passes never post to one subscription at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from payreq.announce import announce
from payreq.db import transaction
from payreq.errors import InvalidInput
from payreq.observability import logger
from webhooks_api import repository, signing
from webhooks_api.addresses import ReceiverRefused, parse, resolve_allowed
from webhooks_api.flows import SUBSCRIPTION
from webhooks_api.sender import Attempt

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.engine import Connection, Engine

    from payreq.context import RequestContext
    from webhooks_api.addresses import IPAddress, Receiver
    from webhooks_api.records import Delivery, Subscription
    from webhooks_api.secret_box import SecretBox
    from webhooks_api.settings import WebhookSettings

    Send = Callable[[Receiver, IPAddress, bytes, dict[str, str]], Attempt]
    Resolve = Callable[[str, int], list[str]]

# Longer than a pass can take (the function's timeout): a pass that died leaves its claims to expire.
CLAIM_SECONDS = 120


@dataclass
class PassOutcome:
    succeeded: int = 0
    failed: int = 0
    given_up: int = 0
    disabled: int = 0
    # Seconds until each retry this pass scheduled: the handler asks the queue to run a pass then.
    retries_in: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Deliverer:
    """What a pass needs: the secrets' box, how to resolve and send, the settings and the clock."""

    box: SecretBox
    send: Send
    resolve: Resolve
    settings: WebhookSettings
    clock: Callable[[], datetime]


def deliver_due(engine: Engine, deliverer: Deliverer, context: RequestContext) -> PassOutcome:
    outcome = PassOutcome()
    now = _now(deliverer)
    with transaction(engine) as connection:
        claimed = repository.claim_due_subscriptions(
            connection,
            now=now,
            claim_until=now + timedelta(seconds=CLAIM_SECONDS),
            limit=deliverer.settings.batch_size,
        )
    for subscription in claimed:
        try:
            _drain(engine, deliverer, context, subscription, outcome)
        finally:
            with transaction(engine) as connection:
                repository.release(connection, subscription.id)
    return outcome


def _drain(
    engine: Engine, deliverer: Deliverer, context: RequestContext, subscription: Subscription, outcome: PassOutcome
) -> None:
    """Send the subscription's due deliveries in order until one fails or none is due."""
    now = _now(deliverer)
    secrets = _signing_secrets(deliverer, subscription, now)
    for _ in range(deliverer.settings.batch_size):
        with transaction(engine) as connection:
            head = repository.next_pending(connection, subscription.id)
        if head is None or head.next_attempt_at > now:
            return
        attempt = _attempt(deliverer, subscription, head, secrets, now)
        with transaction(engine) as connection:
            current = repository.subscription(connection, subscription.id, lock=True)
            if current is None:
                return  # deleted meanwhile, its deliveries with it
            _record(connection, deliverer, context, current, head, attempt, now, outcome)
        if not attempt.succeeded or not current.enabled:
            return
        now = _now(deliverer)


def _attempt(
    deliverer: Deliverer, subscription: Subscription, delivery: Delivery, secrets: list[str], now: datetime
) -> Attempt:
    settings = deliverer.settings
    try:
        receiver = parse(subscription.url, plain_http_allowed=settings.plain_http_allowed)
        # Resolved again at every attempt, and connected to exactly the address allowed here.
        address = resolve_allowed(receiver, resolve=deliverer.resolve, local_receivers=settings.local_receivers)
    except ReceiverRefused as refused:
        return Attempt(None, 0, f"refused: {refused}")
    except InvalidInput as invalid:  # a URL stored before a rule tightened (https): fails like a dead receiver
        return Attempt(None, 0, f"refused: {invalid.message}")
    timestamp = int(now.timestamp())
    headers = signing.headers(secrets, delivery.message_id, timestamp, delivery.payload)
    return deliverer.send(receiver, address, delivery.payload.encode(), headers)


def _record(
    connection: Connection,
    deliverer: Deliverer,
    context: RequestContext,
    subscription: Subscription,
    delivery: Delivery,
    attempt: Attempt,
    now: datetime,
    outcome: PassOutcome,
) -> None:
    retries = deliverer.settings.retry_seconds
    attempts = delivery.attempts + 1
    if attempt.succeeded:
        status, next_at = "succeeded", now
        outcome.succeeded += 1
        if subscription.failed_deliveries_in_a_row:
            repository.save_subscription(
                connection, dataclasses.replace(subscription, failed_deliveries_in_a_row=0), now=now
            )
    elif attempts <= len(retries):
        status, next_at = "pending", now + timedelta(seconds=retries[attempts - 1])
        outcome.failed += 1
        outcome.retries_in.append(retries[attempts - 1])
    else:
        status, next_at = "failed", now
        outcome.failed += 1
        outcome.given_up += 1
        _count_given_up(connection, deliverer, context, subscription, now, outcome)
    repository.record_attempt(
        connection,
        delivery.id,
        status=status,
        attempts=attempts,
        attempted_at=now,
        next_attempt_at=next_at,
        response_status=attempt.status,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
    )
    logger.info(
        "webhook attempt",
        extra={
            "subscriptionId": str(subscription.id),
            "deliveryId": str(delivery.id),
            "attempt": attempts,
            "status": status,
            "responseStatus": attempt.status,
            "ms": attempt.latency_ms,
            "error": attempt.error,
        },
    )


def _count_given_up(
    connection: Connection,
    deliverer: Deliverer,
    context: RequestContext,
    subscription: Subscription,
    now: datetime,
    outcome: PassOutcome,
) -> None:
    in_a_row = subscription.failed_deliveries_in_a_row + 1
    disable = in_a_row >= deliverer.settings.disable_after and subscription.enabled
    reason = f"disabled after {in_a_row} deliveries in a row failed every retry" if disable else None
    changed = dataclasses.replace(
        subscription,
        failed_deliveries_in_a_row=in_a_row,
        enabled=subscription.enabled and not disable,
        disabled_reason=reason if disable else subscription.disabled_reason,
    )
    after = repository.save_subscription(connection, changed, now=now)
    if disable:
        outcome.disabled += 1
        announce(
            connection,
            context,
            SUBSCRIPTION,
            "updated",
            action="webhook.disabled",
            entity_id=subscription.id,
            before=subscription,
            after=after,
            extra={"reason": reason},
        )


def _signing_secrets(deliverer: Deliverer, subscription: Subscription, now: datetime) -> list[str]:
    """The current secret, and the previous one while a rotation's overlap lasts."""
    secrets = [deliverer.box.open(subscription.id, subscription.secret_ciphertext)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret_ciphertext is not None and expires is not None and expires > now:
        secrets.append(deliverer.box.open(subscription.id, subscription.previous_secret_ciphertext))
    return secrets


def _now(deliverer: Deliverer) -> datetime:
    return deliverer.clock()
