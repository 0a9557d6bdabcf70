"""The SQL of webhooks: subscriptions, deliveries, and the dispatcher's pass over the outbox."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as upsert

from payreq.db.paging import newest_by_seq, newest_first
from payreq.db.records import columns_of, record_or_none, records_of, written
from payreq.db.schema import (
    approval_delegations,
    invoices,
    outbox,
    payment_methods,
    payment_requests,
    payments,
    webhook_deliveries,
    webhook_outbox_scans,
    webhook_subscriptions,
    webhook_watermark,
)
from webhooks_api.records import Delivery, OutboxEvent, Subscription

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Table
    from sqlalchemy.engine import Connection

S, D = webhook_subscriptions, webhook_deliveries

# The tables whose rows a webhook payload shows, by outbox entity: the events one may subscribe to.
ENTITY_TABLES: dict[str, Table] = {
    "pr": payment_requests,
    "invoice": invoices,
    "payment": payments,
    "payment_method": payment_methods,
    "delegation": approval_delegations,
}

# The one fan-out at a time: deliveries are numbered in outbox order, per subscription.
_FAN_OUT_LOCK = 0x7765_6268_6F6F_6B73  # "webhooks"


# --- subscriptions ------------------------------------------------------------------------------


def subscription(connection: Connection, subscription_id: uuid.UUID, *, lock: bool = False) -> Subscription | None:
    query = select(S).where(S.c.id == subscription_id)
    if lock:
        query = query.with_for_update()
    return record_or_none(Subscription, connection.execute(query).mappings().first())


def insert_subscription(
    connection: Connection,
    *,
    subscription_id: uuid.UUID,
    owner_id: uuid.UUID,
    url: str,
    description: str,
    event_types: Sequence[str],
    secret_ciphertext: bytes,
    now: datetime,
) -> Subscription:
    statement = (
        insert(S)
        .values(
            id=subscription_id,
            owner_id=owner_id,
            url=url,
            description=description,
            event_types=list(event_types),
            secret_ciphertext=secret_ciphertext,
            created_at=now,
            updated_at=now,
        )
        .returning(S)
    )
    return written(connection, statement, Subscription)


# What a save leaves as it is (who made the subscription, and when) or moves on itself.
_NOT_SAVED = frozenset({"id", "owner_id", "created_at", "updated_at", "version"})


def save_subscription(connection: Connection, changed: Subscription, *, now: datetime) -> Subscription:
    """Write `changed`'s mutable fields and move its version on."""
    statement = (
        update(S)
        .where(S.c.id == changed.id)
        .values(**columns_of(changed, leaving_out=_NOT_SAVED), updated_at=now, version=S.c.version + 1)
        .returning(S)
    )
    return written(connection, statement, Subscription)


def delete_subscription(connection: Connection, subscription_id: uuid.UUID) -> None:
    connection.execute(delete(S).where(S.c.id == subscription_id))


def subscriptions_page(
    connection: Connection, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> tuple[list[Subscription], str | None]:
    """Newest first, `limit` of them after the (created_at, id) `after`, and the next page's cursor."""
    return newest_first(connection, Subscription, select(S), S.c.created_at, S.c.id, limit=limit, after=after)


# --- deliveries ---------------------------------------------------------------------------------


def delivery(connection: Connection, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
    query = select(D).where(D.c.id == delivery_id, D.c.subscription_id == subscription_id)
    return record_or_none(Delivery, connection.execute(query).mappings().first())


# A replay sends the original's message again: the same subscription, `webhook-id`, type and body.
_REPLAYED = ("subscription_id", "message_id", "event_type", "payload")


def insert_replay(connection: Connection, original: Delivery, *, now: datetime) -> Delivery:
    """A new delivery of `original`'s message, due now, at the end of its subscription's queue."""
    message = columns_of(original, only=_REPLAYED)
    statement = (
        insert(D)
        .values(**message, id=uuid.uuid4(), replay_of=original.id, next_attempt_at=now, created_at=now)
        .returning(D)
    )
    return written(connection, statement, Delivery)


def deliveries_page(
    connection: Connection, subscription_id: uuid.UUID, *, limit: int, before_seq: int | None
) -> list[Delivery]:
    """The delivery log, newest first."""
    query = select(D).where(D.c.subscription_id == subscription_id)
    return newest_by_seq(connection, Delivery, query, D.c.seq, limit=limit, before=before_seq)


def next_pending(connection: Connection, subscription_id: uuid.UUID) -> Delivery | None:
    """The delivery that goes out next: the oldest still pending (the ones after it wait for it)."""
    query = select(D).where(D.c.subscription_id == subscription_id, D.c.status == "pending").order_by(D.c.seq).limit(1)
    return record_or_none(Delivery, connection.execute(query).mappings().first())


def record_attempt(
    connection: Connection,
    delivery_id: uuid.UUID,
    *,
    status: str,
    attempts: int,
    attempted_at: datetime,
    next_attempt_at: datetime,
    response_status: int | None,
    latency_ms: int,
    error: str | None,
) -> None:
    connection.execute(
        update(D)
        .where(D.c.id == delivery_id)
        .values(
            status=status,
            attempts=attempts,
            last_attempt_at=attempted_at,
            next_attempt_at=next_attempt_at,
            response_status=response_status,
            latency_ms=latency_ms,
            last_error=error,
        )
    )


def claim_due_subscriptions(
    connection: Connection, *, now: datetime, claim_until: datetime, limit: int
) -> list[Subscription]:
    """Enabled subscriptions whose next delivery is due and that no other pass holds, claimed until
    `claim_until` (committed before anything is sent, so no transaction is held across the posts)."""
    # When the subscription's next delivery (its oldest pending one) is due.
    head_due_at = (
        select(D.c.next_attempt_at)
        .where(D.c.subscription_id == S.c.id, D.c.status == "pending")
        .order_by(D.c.seq)
        .limit(1)
        .correlate(S)
        .scalar_subquery()
    )
    candidates = (
        select(S.c.id)
        .where(S.c.enabled, or_(S.c.claimed_until.is_(None), S.c.claimed_until < now), head_due_at <= now)
        .order_by(S.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = connection.execute(
        update(S).where(S.c.id.in_(candidates)).values(claimed_until=claim_until).returning(S)
    ).mappings()
    return records_of(Subscription, rows)


def release(connection: Connection, subscription_id: uuid.UUID) -> None:
    connection.execute(update(S).where(S.c.id == subscription_id).values(claimed_until=None))


def earliest_retry(connection: Connection) -> datetime | None:
    """When the next pending delivery of an enabled subscription is due."""
    query = (
        select(func.min(D.c.next_attempt_at))
        .select_from(D.join(S, S.c.id == D.c.subscription_id))
        .where(S.c.enabled, D.c.status == "pending")
    )
    value: datetime | None = connection.execute(query).scalar()
    return value


# --- the dispatcher's pass over the outbox ------------------------------------------------------


def lock_fan_out(connection: Connection) -> bool:
    """Take the fan-out lock for this transaction, or say another pass has it."""
    return bool(connection.execute(select(func.pg_try_advisory_xact_lock(_FAN_OUT_LOCK))).scalar())


def watermark(connection: Connection) -> int:
    return int(connection.execute(select(webhook_watermark.c.below)).scalar_one())


def unscanned_events(connection: Connection, *, below: int, limit: int) -> list[OutboxEvent]:
    """Outbox rows at or after the watermark that the dispatcher has not fanned out, oldest first."""
    scanned = exists().where(webhook_outbox_scans.c.outbox_id == outbox.c.id)
    query = select(outbox).where(outbox.c.id >= below, ~scanned).order_by(outbox.c.id).limit(limit)
    return records_of(OutboxEvent, connection.execute(query).mappings())


def mark_scanned(connection: Connection, outbox_ids: Sequence[int], *, now: datetime) -> None:
    if outbox_ids:
        connection.execute(
            insert(webhook_outbox_scans), [{"outbox_id": outbox_id, "scanned_at": now} for outbox_id in outbox_ids]
        )


def advance_watermark(connection: Connection, *, settled_before: datetime) -> int:
    """Move the watermark past the rows scanned before `settled_before` (by then every transaction
    that took a smaller outbox id has ended, so no row below it can still appear) but never past a
    row still unscanned; forget the marks below it. Returns the new watermark."""
    scans = webhook_outbox_scans
    current = watermark(connection)
    settled = connection.execute(
        select(func.max(scans.c.outbox_id)).where(scans.c.scanned_at < settled_before)
    ).scalar()
    if settled is None:
        return current
    first_unscanned = connection.execute(
        select(func.min(outbox.c.id)).where(outbox.c.id >= current, ~exists().where(scans.c.outbox_id == outbox.c.id))
    ).scalar()
    below = int(settled) + 1 if first_unscanned is None else min(int(settled) + 1, int(first_unscanned))
    if below > current:
        connection.execute(update(webhook_watermark).values(below=below))
        connection.execute(delete(scans).where(scans.c.outbox_id < below))
    return max(below, current)


def subscribers(connection: Connection, event: OutboxEvent) -> list[Subscription]:
    """Enabled subscriptions that want `event` (by its type or `<entity>.*`) and existed when it happened."""
    wanted = literal([event.event_type, f"{event.entity}.*"], ARRAY(Text))
    query = (
        select(S)
        .where(S.c.enabled, S.c.event_types.overlap(wanted), S.c.created_at <= event.occurred_at)
        .order_by(S.c.id)
    )
    return records_of(Subscription, connection.execute(query).mappings())


def entity_row(connection: Connection, entity: str, entity_id: str) -> dict[str, Any] | None:
    """The entity's row as it is now (None once deleted)."""
    table = ENTITY_TABLES[entity]
    try:
        key = uuid.UUID(entity_id)
    except ValueError:
        return None
    row = connection.execute(select(table).where(table.c.id == key)).mappings().first()
    return dict(row) if row is not None else None


def insert_fanned_out(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Deliveries of fanned-out events; one already there (a pass that died after inserting it) stays."""
    if rows:
        connection.execute(upsert(D).on_conflict_do_nothing(index_elements=["subscription_id", "outbox_id"]), rows)
