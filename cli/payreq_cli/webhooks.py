"""`payreq webhooks ...`: an operator looks after outbound webhooks from a shell, through the
webhooks function's own flows, audited with the operator as the actor. For the receiver outage at
3 a.m.: which subscriptions stopped, what failed, re-enable, replay what was given up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from payreq.db import get_engine, read_connection, transaction
from payreq_cli.operator import operator_context

if TYPE_CHECKING:
    from webhooks_api.records import Delivery

# The log shows the newest deliveries first; an operator wants a screenful, not the history.
LOG_LINES = 50


def list_subscriptions() -> str:
    from webhooks_api import repository

    with read_connection(get_engine()) as connection:
        rows, _ = repository.subscriptions_page(connection, limit=1000, after=None)
    if not rows:
        return "no webhook subscriptions"
    return "\n".join(
        f"{row.id}  {'enabled ' if row.enabled else 'DISABLED'}  {row.url}  {' '.join(row.event_types)}"
        + (f"  ({row.disabled_reason})" if not row.enabled and row.disabled_reason else "")
        for row in rows
    )


def set_enabled(subscription_id: str, enabled: bool) -> str:
    from webhooks_api import dependencies, flows
    from webhooks_api.models import SubscriptionChanges

    key = uuid.UUID(subscription_id)
    command = "webhooks enable" if enabled else "webhooks disable"
    with transaction(get_engine()) as connection:
        current = flows.get(connection, key, lock=True)
        after = flows.change(
            connection,
            operator_context(command),
            key,
            SubscriptionChanges(enabled=enabled),
            version=current.version,
            checks=dependencies.checks(),
            now=datetime.now(UTC),
        )
    return f"{after.url}: {'enabled (pending deliveries resume in order)' if after.enabled else 'disabled'}"


def deliveries(subscription_id: str, status: str | None) -> str:
    from webhooks_api import flows, repository

    key = uuid.UUID(subscription_id)
    with read_connection(get_engine()) as connection:
        flows.get(connection, key)
        log = repository.deliveries_page(connection, key, limit=LOG_LINES, before_seq=None)
    shown = [delivery for delivery in log if status is None or delivery.status == status]
    return "\n".join(_line(delivery) for delivery in shown) or "no deliveries"


def replay(subscription_id: str, delivery_ids: list[str]) -> str:
    from webhooks_api import flows

    key = uuid.UUID(subscription_id)
    with transaction(get_engine()) as connection:
        replays = [
            flows.replay(
                connection, operator_context("webhooks replay"), key, uuid.UUID(delivery_id), now=datetime.now(UTC)
            )
            for delivery_id in delivery_ids
        ]
    return "\n".join(f"replaying {replayed.replay_of} as {replayed.id}" for replayed in replays)


def replay_failed(subscription_id: str) -> str:
    """Every delivery the deliverer gave up on, oldest first, sent again in one transaction."""
    from webhooks_api import flows, repository

    key = uuid.UUID(subscription_id)
    with read_connection(get_engine()) as connection:
        flows.get(connection, key)
        log = repository.deliveries_page(connection, key, limit=1000, before_seq=None)
    failed = [str(delivery.id) for delivery in reversed(log) if delivery.status == "failed"]
    return replay(subscription_id, failed) if failed else "no failed deliveries to replay"


def _line(delivery: Delivery) -> str:
    answered = f"HTTP {delivery.response_status}" if delivery.response_status is not None else delivery.last_error or ""
    return (
        f"{delivery.id}  {delivery.created_at:%Y-%m-%d %H:%M:%S}  {delivery.event_type:<24}  {delivery.status:<9}  "
        f"attempts {delivery.attempts}  {answered}".rstrip()
    )
