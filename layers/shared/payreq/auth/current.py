"""The credential a request was admitted with, as the database says it is now.

The authorizer's answer is what admitted the request; a route that mints credentials or changes
who may do what (API tokens, WebSocket tickets, user admin) asks again, by the credential's id,
in the function itself: whatever sits between the two (an authorizer result cache turned on in
API Gateway one day, a verified JWT reused for a while) can never let a signed-out session or a
revoked token mint a new credential.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from payreq.auth.api_tokens import token_refusal
from payreq.auth.principal import AuthFailure
from payreq.auth.sessions import session_refusal
from payreq.auth.users import permissions_of
from payreq.db.schema import api_tokens, sessions, users

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Row

    from payreq.context import RequestContext


def current_permissions(
    connection: Connection, context: RequestContext, *, now: datetime
) -> frozenset[str] | AuthFailure:
    """What the request's credential may do now: never more than the authorizer said it could."""
    if context.user_id is None or context.auth_method is None:
        return AuthFailure("unknown_session")
    if context.auth_method == "session":
        s = sessions.c
        row = _credential(connection, context, sessions, s.revoked_at, s.expires_at, s.idle_expires_at)
        if row is None:
            return AuthFailure("unknown_session")
        refused = session_refusal(row.revoked_at, row.expires_at, row.idle_expires_at, row.is_active, now=now)
        granted = frozenset(row.permissions or ())
    elif context.auth_method == "api_token":
        t = api_tokens.c
        row = _credential(connection, context, api_tokens, t.revoked_at, t.expires_at, t.scopes)
        if row is None:
            return AuthFailure("unknown_token")
        refused = token_refusal(row.revoked_at, row.expires_at, row.is_active, now=now)
        granted = frozenset(row.scopes) & frozenset(row.permissions or ())
    else:
        # A JWT is the issuer's to revoke; here the user must still be active and hold the scopes.
        held = permissions_of(users.c.id).label("permissions")
        row = connection.execute(select(users.c.is_active, held).where(users.c.id == context.user_id)).one_or_none()
        if row is None:
            return AuthFailure("unknown_identity")
        refused = None if row.is_active else AuthFailure("inactive_user")
        granted = frozenset(row.permissions or ())
    return refused if refused is not None else granted & context.permissions


def _credential(
    connection: Connection, context: RequestContext, table: Table, *columns: Any
) -> Row[*tuple[Any, ...]] | None:
    """The request's credential in `table` (`sessions`, `api_tokens`), if it is still its user's:
    `columns` of it, whether the user is active and their permissions."""
    held = permissions_of(users.c.id).label("permissions")
    return connection.execute(
        select(*columns, users.c.is_active, held)
        .join(users, users.c.id == table.c.user_id)
        .where(table.c.id == _uuid(context.credential_id), table.c.user_id == context.user_id)
    ).one_or_none()


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
