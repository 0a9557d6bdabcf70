"""API tokens for CLI and admin clients: long random bearer secrets, stored hashed, with scopes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from payreq.auth.credentials import fingerprint, new_api_token
from payreq.auth.live_connections import credential_key, drop_connections_opened_by
from payreq.auth.principal import AuthFailure, Principal
from payreq.auth.users import credential_by_hash
from payreq.db.one_round_trip import one_row
from payreq.db.records import record, record_or_none
from payreq.db.schema import api_tokens

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection, RowMapping

_TOUCH_AFTER = timedelta(minutes=1)


def issue_token(
    connection: Connection,
    user_id: uuid.UUID,
    *,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
    now: datetime,
) -> tuple[RowMapping, str]:
    """Store a new token and return its row with the secret, which is never retrievable again."""
    secret = new_api_token()
    row = (
        connection.execute(
            insert(api_tokens)
            .values(
                id=uuid.uuid4(),
                user_id=user_id,
                name=name,
                token_hash=fingerprint(secret),
                token_prefix=secret[:12],
                scopes=sorted(set(scopes)),
                created_at=now,
                expires_at=expires_at,
            )
            .returning(*_public_columns())
        )
        .mappings()
        .one()
    )
    return row, secret


@record
class TokenCheck:
    """What the per-request check reads: the credential, its user's state and permissions."""

    id: uuid.UUID
    user_id: uuid.UUID
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    is_active: bool
    permissions: list[str]


# The authorizer runs this on every API call with a token.
TOKEN_BY_HASH = credential_by_hash(
    "api_tokens", "c.id, c.user_id, c.scopes, c.expires_at, c.revoked_at, c.last_used_at"
)


def token_refusal(
    revoked_at: datetime | None, expires_at: datetime | None, is_active: bool, *, now: datetime
) -> AuthFailure | None:
    """Why a token that exists no longer admits its requests; None: it does."""
    if revoked_at is not None:
        return AuthFailure("revoked_token")
    if expires_at is not None and now >= expires_at:
        return AuthFailure("expired_token")
    return None if is_active else AuthFailure("inactive_user")


def token_principal(connection: Connection, secret: str, *, now: datetime) -> Principal | AuthFailure:
    found = one_row(connection, TOKEN_BY_HASH, fingerprint(secret))
    row = record_or_none(TokenCheck, found)
    if row is None:
        return AuthFailure("unknown_token")
    refused = token_refusal(row.revoked_at, row.expires_at, row.is_active, now=now)
    if refused is not None:
        return refused
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_AFTER:
        connection.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    # A token never grants more than its owner holds today: revoking a user's permission limits
    # their tokens at once.
    effective = frozenset(row.scopes) & frozenset(row.permissions or ())
    return Principal(row.user_id, effective, "api_token", str(row.id))


def list_tokens(connection: Connection, user_id: uuid.UUID) -> list[RowMapping]:
    query = select(*_public_columns()).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.created_at)
    return list(connection.execute(query).mappings())


def revoke_token(
    connection: Connection, token_id: uuid.UUID, *, user_id: uuid.UUID | None, now: datetime
) -> RowMapping | None:
    """Revoke one of the user's tokens (any user's when `user_id` is None; idempotent), and drop the
    WebSocket connections it opened; None if there is no such token."""
    mine = [api_tokens.c.id == token_id] + ([api_tokens.c.user_id == user_id] if user_id is not None else [])
    connection.execute(update(api_tokens).where(*mine, api_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    token = connection.execute(select(*_public_columns()).where(*mine)).mappings().one_or_none()
    key = credential_key("api_token", str(token["id"]) if token is not None else None)
    if key is not None:
        drop_connections_opened_by(connection, key)
    return token


def _public_columns() -> list[Any]:
    return [
        api_tokens.c.id,
        api_tokens.c.name,
        api_tokens.c.token_prefix,
        api_tokens.c.scopes,
        api_tokens.c.created_at,
        api_tokens.c.expires_at,
        api_tokens.c.last_used_at,
        api_tokens.c.revoked_at,
    ]
