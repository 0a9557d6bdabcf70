"""Browser sessions: server-side rows keyed by a hash of the cookie's random id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, update

from payreq.auth.credentials import fingerprint, new_secret
from payreq.auth.live_connections import credential_key, drop_connections_opened_by
from payreq.auth.principal import AuthFailure, Principal
from payreq.db.one_round_trip import bytea_literal, one_row
from payreq.db.records import record_or_none
from payreq.db.schema import sessions

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from payreq.settings import AuthSettings

# Sliding the idle expiry is a write; once a minute per session is plenty.
_TOUCH_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewSession:
    id: uuid.UUID
    secret: str
    expires_at: datetime


def start_session(
    connection: Connection,
    user_id: uuid.UUID,
    *,
    settings: AuthSettings,
    now: datetime,
    source_ip: str | None,
    user_agent: str | None,
) -> NewSession:
    session_id, secret = uuid.uuid4(), new_secret()
    expires_at = now + timedelta(minutes=settings.session_absolute_minutes)
    connection.execute(
        insert(sessions).values(
            id=session_id,
            token_hash=fingerprint(secret),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            idle_expires_at=min(now + timedelta(minutes=settings.session_idle_minutes), expires_at),
            expires_at=expires_at,
            source_ip=source_ip,
            user_agent=user_agent,
        )
    )
    return NewSession(session_id, secret, expires_at)


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """What the per-request check reads: the credential, its user's state and permissions."""

    id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    idle_expires_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    is_active: bool
    permissions: list[str]


# The authorizer runs this on every API call: one unique-index probe on token_hash, joined to the
# user, with their permissions sorted into an array. Written out rather than built with Core (no
# statement building or cache key per request), and completed with the digest as a literal so it
# runs in one round trip (payreq.db.one_round_trip).
SESSION_BY_HASH = """
SELECT s.id, s.user_id, s.expires_at, s.idle_expires_at, s.last_seen_at, s.revoked_at, u.is_active,
       coalesce((SELECT array_agg(p.permission ORDER BY p.permission)
                 FROM user_permissions p WHERE p.user_id = s.user_id), '{}'::text[]) AS permissions
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = """


def session_principal(
    connection: Connection, secret: str, *, settings: AuthSettings, now: datetime
) -> Principal | AuthFailure:
    found = one_row(connection, SESSION_BY_HASH + bytea_literal(fingerprint(secret)))
    row = record_or_none(SessionCheck, found)
    if row is None:
        return AuthFailure("unknown_session")
    if row.revoked_at is not None:
        return AuthFailure("revoked_session")
    if now >= row.expires_at or now >= row.idle_expires_at:
        return AuthFailure("expired_session")
    if not row.is_active:
        return AuthFailure("inactive_user")
    if now - row.last_seen_at >= _TOUCH_AFTER:
        connection.execute(
            update(sessions)
            .where(sessions.c.id == row.id)
            .values(
                last_seen_at=now,
                idle_expires_at=min(now + timedelta(minutes=settings.session_idle_minutes), row.expires_at),
            )
        )
    return Principal(row.user_id, frozenset(row.permissions or ()), "session", str(row.id))


def revoke_session(connection: Connection, secret: str, *, now: datetime) -> uuid.UUID | None:
    """Revoke the session this cookie names, and drop the WebSocket connections it opened; the id of
    the session, or None if there was none live."""
    session_id: uuid.UUID | None = connection.scalar(
        update(sessions)
        .where(sessions.c.token_hash == fingerprint(secret), sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(sessions.c.id)
    )
    key = credential_key("session", str(session_id) if session_id else None)
    if key is not None:
        drop_connections_opened_by(connection, key)
    return session_id


def cookie_value(cookies: list[str] | None, name: str) -> str | None:
    """The value of cookie `name` from API Gateway's `cookies` array (`["a=1", "b=2"]`)."""
    for cookie in cookies or ():
        key, _, value = cookie.strip().partition("=")
        if key == name and value:
            return value
    return None
