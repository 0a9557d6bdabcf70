"""The auth function's reads and writes of users, API tokens and pending Google sign-ins, as typed records.

Users and tokens are stored by the layer's `payreq.auth` (the authorizer reads them on every
request); this module gives the auth function's flows those rows as records and takes typed changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, update

from auth_api.records import ApiTokenRecord, PendingLogin, UserRecord
from payreq.auth import api_tokens, users
from payreq.db.records import columns_of, record_of, record_or_none, records_of
from payreq.db.schema import oauth_logins

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from auth_api.records import NewPendingLogin, UserUpdate


# --- users -------------------------------------------------------------------------------------


def user(connection: Connection, user_id: uuid.UUID, *, for_update: bool = False) -> UserRecord | None:
    return record_or_none(UserRecord, users.get_user(connection, user_id, for_update=for_update))


def user_by_email(connection: Connection, email: str) -> UserRecord | None:
    """The user with this address, whatever its case."""
    return record_or_none(UserRecord, users.find_user_by_email(connection, email))


def users_by_email(connection: Connection, *, limit: int, after: tuple[str, str] | None) -> list[UserRecord]:
    """Users ordered by email (lowercase), then id: the page after `after`."""
    return records_of(UserRecord, users.list_users(connection, limit=limit, after=after))


def update_user(connection: Connection, user_id: uuid.UUID, changes: UserUpdate, *, now: datetime) -> None:
    """Set `changes` and make a new version of the user (even when `changes` is empty)."""
    users.update_user(connection, user_id, now=now, **changes)


# --- API tokens --------------------------------------------------------------------------------


def add_token(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime,
    now: datetime,
) -> tuple[ApiTokenRecord, str]:
    """The new token and its secret, which is never retrievable again."""
    row, secret = api_tokens.issue_token(connection, owner_id, name=name, scopes=scopes, expires_at=expires_at, now=now)
    return record_of(ApiTokenRecord, row), secret


def tokens_of(connection: Connection, owner_id: uuid.UUID) -> list[ApiTokenRecord]:
    """The user's tokens, oldest first."""
    return records_of(ApiTokenRecord, api_tokens.list_tokens(connection, owner_id))


def revoke_token(
    connection: Connection, token_id: uuid.UUID, *, owner_id: uuid.UUID | None, now: datetime
) -> ApiTokenRecord | None:
    """The token, revoked now unless it already was; None if there is none (of `owner_id`, when given)."""
    return record_or_none(ApiTokenRecord, api_tokens.revoke_token(connection, token_id, user_id=owner_id, now=now))


# --- pending Google sign-ins -------------------------------------------------------------------


def add_pending_login(connection: Connection, pending: NewPendingLogin) -> None:
    connection.execute(insert(oauth_logins).values(**columns_of(pending)))


def consume_pending_login(connection: Connection, state_hash: bytes, *, now: datetime) -> PendingLogin | None:
    """Mark the pending sign-in of this state consumed; None if it is unknown, expired or consumed already."""
    consumed = (
        update(oauth_logins)
        .where(
            oauth_logins.c.state_hash == state_hash,
            oauth_logins.c.consumed_at.is_(None),
            oauth_logins.c.expires_at > now,
        )
        .values(consumed_at=now)
        .returning(oauth_logins.c.nonce, oauth_logins.c.code_verifier, oauth_logins.c.next_path)
    )
    return record_or_none(PendingLogin, connection.execute(consumed).mappings().one_or_none())
