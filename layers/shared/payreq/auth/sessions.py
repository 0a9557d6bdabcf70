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
from payreq.auth.users import credential_by_hash
from payreq.db.one_round_trip import one_row
from payreq.db.records import record, record_or_none
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


@record
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


# The authorizer runs this on every API call.
SESSION_BY_HASH = credential_by_hash(
    "sessions", "c.id, c.user_id, c.expires_at, c.idle_expires_at, c.last_seen_at, c.revoked_at"
)


def session_refusal(
    revoked_at: datetime | None, expires_at: datetime, idle_expires_at: datetime, is_active: bool, *, now: datetime
) -> AuthFailure | None:
    """Why a session that exists no longer admits its requests; None: it does."""
    if revoked_at is not None:
        return AuthFailure("revoked_session")
    if now >= expires_at or now >= idle_expires_at:
        return AuthFailure("expired_session")
    return None if is_active else AuthFailure("inactive_user")


def session_principal(
    connection: Connection, secret: str, *, settings: AuthSettings, now: datetime
) -> Principal | AuthFailure:
    found = one_row(connection, SESSION_BY_HASH, fingerprint(secret))
    row = record_or_none(SessionCheck, found)
    if row is None:
        return AuthFailure("unknown_session")
    refused = session_refusal(row.revoked_at, row.expires_at, row.idle_expires_at, row.is_active, now=now)
    if refused is not None:
        return refused
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
