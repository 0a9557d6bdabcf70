"""Subscription flows: each runs on the caller's unit of work and writes the change, its audit
event and its outbox row together (`payreq.announce`). Signing secrets pass through here in clear
only on their way into KMS and, once, into the response."""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING

from payreq.announce import Announced, announce
from payreq.db.transaction import after_commit
from payreq.errors import Conflict, ensure_version, must_exist
from payreq.http.pagination import decode_newest_first, decode_seq, seq_page
from webhooks_api import repository, signing
from webhooks_api.addresses import check_url

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta

    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext
    from webhooks_api.models import NewSubscription, SubscriptionChanges
    from webhooks_api.records import Delivery, Subscription
    from webhooks_api.secret_box import SecretBox
    from webhooks_api.settings import WebhookSettings

# The secret is never audited: only what a reader of the log needs to follow the subscription.
SUBSCRIPTION = Announced(
    "webhook_subscription",
    "webhook",
    ("url", "description", "event_types", "enabled", "disabled_reason", "version"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Checks:
    """What a subscription's URL is checked with: the settings and the DNS resolver."""

    settings: WebhookSettings
    resolve: Callable[[str, int], list[str]]

    def url(self, url: str) -> None:
        check_url(
            url,
            plain_http_allowed=self.settings.plain_http_allowed,
            resolve=self.resolve,
            local_receivers=self.settings.local_receivers,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class WithSecret:
    subscription: Subscription
    secret: str


def create(
    connection: Connection,
    context: RequestContext,
    request: NewSubscription,
    *,
    checks: Checks,
    box: SecretBox,
    now: datetime,
) -> WithSecret:
    assert context.user_id is not None
    checks.url(request.url)
    subscription_id, secret = uuid.uuid4(), signing.new_secret()
    created = repository.insert_subscription(
        connection,
        subscription_id=subscription_id,
        owner_id=context.user_id,
        url=request.url,
        description=request.description,
        event_types=sorted(set(request.event_types)),
        secret_ciphertext=box.seal(subscription_id, secret),
        now=now,
    )
    announce(
        connection,
        context,
        SUBSCRIPTION,
        "created",
        action="webhook.created",
        entity_id=subscription_id,
        before=None,
        after=created,
    )
    return WithSecret(created, secret)


def page_of(connection: Connection, *, limit: int, cursor: str | None) -> tuple[list[Subscription], str | None]:
    """A page of subscriptions, newest first, and the cursor of the next page (None for the last)."""
    return repository.subscriptions_page(connection, limit=limit, after=decode_newest_first(cursor))


def delivery_log(
    connection: Connection, subscription_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[Delivery], str | None]:
    """A page of the subscription's delivery log, newest first, and the cursor of the next page."""
    get(connection, subscription_id)
    found = repository.deliveries_page(connection, subscription_id, limit=limit + 1, before_seq=decode_seq(cursor))
    return seq_page(found, limit)


def get(connection: Connection, subscription_id: uuid.UUID, *, lock: bool = False) -> Subscription:
    return must_exist(
        repository.subscription(connection, subscription_id, lock=lock), "No webhook subscription with this id."
    )


def change(
    connection: Connection,
    context: RequestContext,
    subscription_id: uuid.UUID,
    changes: SubscriptionChanges,
    *,
    version: int,
    checks: Checks,
    now: datetime,
) -> Subscription:
    before = get(connection, subscription_id, lock=True)
    ensure_version(before.version, version, "The subscription changed since you read it.")
    if changes.url is not None and changes.url != before.url:
        checks.url(changes.url)
    enabling = changes.enabled is True and not before.enabled
    disabling = changes.enabled is False and before.enabled
    reason = None if enabling else "disabled by a person" if disabling else before.disabled_reason
    changed = dataclasses.replace(
        before,
        url=changes.url if changes.url is not None else before.url,
        description=changes.description if changes.description is not None else before.description,
        event_types=sorted(set(changes.event_types)) if changes.event_types is not None else before.event_types,
        enabled=changes.enabled if changes.enabled is not None else before.enabled,
        disabled_reason=reason,
        # Enabled again by a person: the failures that disabled it are behind it.
        failed_deliveries_in_a_row=0 if enabling else before.failed_deliveries_in_a_row,
    )
    after = repository.save_subscription(connection, changed, now=now)
    action = "webhook.enabled" if enabling else "webhook.disabled" if disabling else "webhook.changed"
    announce(
        connection,
        context,
        SUBSCRIPTION,
        "updated",
        action=action,
        entity_id=subscription_id,
        before=before,
        after=after,
    )
    if enabling:
        after_commit(connection, "payreq.webhooks.trigger", trigger_deliveries)
    return after


def rotate_secret(
    connection: Connection,
    context: RequestContext,
    subscription_id: uuid.UUID,
    *,
    box: SecretBox,
    overlap: timedelta,
    now: datetime,
) -> WithSecret:
    """A new signing secret; the one it replaces still signs (a second signature) until `overlap` has
    passed, so receivers can switch without missing a message."""
    before = get(connection, subscription_id, lock=True)
    secret = signing.new_secret()
    changed = dataclasses.replace(
        before,
        secret_ciphertext=box.seal(subscription_id, secret),
        previous_secret_ciphertext=before.secret_ciphertext,
        previous_secret_expires_at=now + overlap,
    )
    after = repository.save_subscription(connection, changed, now=now)
    announce(
        connection,
        context,
        SUBSCRIPTION,
        "updated",
        action="webhook.secret_rotated",
        entity_id=subscription_id,
        before=before,
        after=after,
        extra={"previousSecretExpiresAt": (now + overlap).isoformat()},
    )
    return WithSecret(after, secret)


def delete(connection: Connection, context: RequestContext, subscription_id: uuid.UUID) -> None:
    before = get(connection, subscription_id, lock=True)
    repository.delete_subscription(connection, subscription_id)
    announce(
        connection,
        context,
        SUBSCRIPTION,
        "deleted",
        action="webhook.deleted",
        entity_id=subscription_id,
        before=before,
        after=None,
    )


def replay(
    connection: Connection,
    context: RequestContext,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    now: datetime,
) -> Delivery:
    """Send a delivery's message again, as a new delivery at the end of the subscription's queue
    (same `webhook-id` and body, signed afresh when it goes out)."""
    subscription = get(connection, subscription_id, lock=True)
    original = must_exist(
        repository.delivery(connection, subscription_id, delivery_id), "No delivery with this id for this subscription."
    )
    if not subscription.enabled:
        raise Conflict(
            "The subscription is disabled: enable it before replaying its deliveries.", code="subscription_disabled"
        )
    replayed = repository.insert_replay(connection, original, now=now)
    announce(
        connection,
        context,
        SUBSCRIPTION,
        "updated",
        action="webhook.delivery_replayed",
        entity_id=subscription_id,
        before=subscription,
        after=subscription,
        extra={"deliveryId": str(original.id), "replayId": str(replayed.id)},
    )
    after_commit(connection, "payreq.webhooks.trigger", trigger_deliveries)
    return replayed


def trigger_deliveries(delay_seconds: int = 0) -> None:
    """Ask the deliverer to run (now, or in `delay_seconds`, at most SQS's 15 minutes). Never raises:
    the deliverer's schedule runs every minute and delivers whatever a lost message left."""
    from payreq.observability import logger
    from webhooks_api.settings import webhook_settings

    try:
        queue_url = webhook_settings().queue_url
        if queue_url:
            from payreq import aws

            aws.client("sqs").send_message(
                QueueUrl=queue_url, MessageBody='{"deliver": true}', DelaySeconds=max(0, min(delay_seconds, 900))
            )
    except Exception:
        logger.exception("webhook trigger failed; the deliverer's schedule will run the pass")
