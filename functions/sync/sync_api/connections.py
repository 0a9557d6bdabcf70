"""The sync function's SQL: single-use tickets, connections and their topics, missed changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select, update

from payreq.auth.credentials import fingerprint, new_secret
from payreq.auth.live_connections import CONNECTION_LIFETIME
from payreq.broadcast_plan import READ_PERMISSION, ChangeRow, bucket_of, entity_of
from payreq.db.records import record_or_none, records_of
from payreq.db.schema import outbox, user_permissions, users, ws_connections, ws_tickets

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection

TICKET_TTL = timedelta(seconds=30)
MAX_TOPICS = 50
TOPIC = re.compile(r"^(prs|invoices|payments|(pr|invoice|payment):[A-Za-z0-9_-]{1,64})$")


@dataclass(frozen=True, slots=True)
class Ticket:
    secret: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenConnection:
    """A live connection as the WebSocket routes read it."""

    connection_id: str
    user_id: uuid.UUID
    topics: list[str]
    scopes: list[str]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a ticket or a cookie admits to a socket, and with which scopes: those of the credential
    that asked (a `pr.read` token's ticket opens a socket that reads requests only)."""

    user_id: uuid.UUID
    scopes: frozenset[str]
    credential: str | None  # `session:<id>`, `api_token:<id>`: revoking it drops the connection


def issue_ticket(connection: Connection, holder: Holder, *, now: datetime) -> Ticket:
    secret, expires_at = new_secret(), now + TICKET_TTL
    connection.execute(
        insert(ws_tickets).values(
            ticket_hash=fingerprint(secret),
            user_id=holder.user_id,
            scopes=sorted(holder.scopes),
            credential=holder.credential,
            created_at=now,
            expires_at=expires_at,
        )
    )
    # Tickets are worthless a moment later: clear the old ones while here.
    connection.execute(delete(ws_tickets).where(ws_tickets.c.expires_at < now - timedelta(hours=1)))
    return Ticket(secret, expires_at)


def redeem_ticket(connection: Connection, secret: str, *, now: datetime) -> Holder | None:
    """The ticket's holder if the ticket is unused and unexpired (and the user active); it is used up."""
    row = connection.execute(
        update(ws_tickets)
        .where(
            ws_tickets.c.ticket_hash == fingerprint(secret),
            ws_tickets.c.used_at.is_(None),
            ws_tickets.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(ws_tickets.c.user_id, ws_tickets.c.scopes, ws_tickets.c.credential)
    ).one_or_none()
    if row is None or not connection.scalar(select(users.c.is_active).where(users.c.id == row.user_id)):
        return None
    return Holder(row.user_id, frozenset(row.scopes), row.credential)


def permissions_of(connection: Connection, user_id: uuid.UUID) -> frozenset[str]:
    return frozenset(
        connection.scalars(select(user_permissions.c.permission).where(user_permissions.c.user_id == user_id))
    )


def register(connection: Connection, connection_id: str, holder: Holder, *, now: datetime) -> None:
    connection.execute(
        insert(ws_connections).values(
            connection_id=connection_id,
            user_id=holder.user_id,
            scopes=sorted(holder.scopes),
            credential=holder.credential,
            topics=[],
            connected_at=now,
            last_seen_at=now,
            expires_at=now + CONNECTION_LIFETIME,
            bucket=bucket_of(connection_id),
        )
    )


def forget(connection: Connection, connection_id: str) -> None:
    connection.execute(delete(ws_connections).where(ws_connections.c.connection_id == connection_id))


def find(connection: Connection, connection_id: str, *, now: datetime) -> OpenConnection | None:
    return record_or_none(
        OpenConnection,
        connection.execute(
            select(ws_connections).where(
                ws_connections.c.connection_id == connection_id, ws_connections.c.expires_at > now
            )
        )
        .mappings()
        .one_or_none(),
    )


def set_topics(connection: Connection, connection_id: str, topics: Iterable[str], *, now: datetime) -> None:
    connection.execute(
        update(ws_connections)
        .where(ws_connections.c.connection_id == connection_id)
        .values(topics=sorted(set(topics)), last_seen_at=now)
    )


def readable(topic: str, permissions: frozenset[str]) -> bool:
    entity = entity_of(topic)
    return entity is not None and READ_PERMISSION[entity] in permissions


def latest_cursor(connection: Connection) -> int:
    return int(connection.scalar(select(func.coalesce(func.max(outbox.c.id), 0))) or 0)


def changes_since(
    connection: Connection, since: int, until: int, *, entities: Iterable[str], limit: int
) -> list[ChangeRow]:
    """Outbox rows in (`since`, `until`], of the given entities, oldest first (`limit` + 1 to tell if more)."""
    return records_of(
        ChangeRow,
        connection.execute(
            select(outbox)
            .where(outbox.c.id > since, outbox.c.id <= until, outbox.c.entity.in_(sorted(entities)))
            .order_by(outbox.c.id)
            .limit(limit + 1)
        ).mappings(),
    )
