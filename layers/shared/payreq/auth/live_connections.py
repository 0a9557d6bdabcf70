"""WebSocket connections end with the credential that opened them.

A socket is opened with a session cookie or a ticket minted by a session or an API token, and lives
up to two hours. Signing out or revoking the token ends the connections that credential opened
(deactivating a user, all of theirs), in the same transaction: their expiry becomes now, so the
broadcaster delivers nothing more to them and `subscribe` finds none. The broadcaster's sweep
(every minute) then closes each at API Gateway (`DELETE @connections/{id}`), so the client sees
its socket close and, reconnecting, is refused: a page left open after a sign-out elsewhere learns
it is signed out instead of going quiet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, update

from payreq.db.schema import ws_connections

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.elements import ColumnElement

# API Gateway closes a WebSocket after 2 hours whatever happens.
CONNECTION_LIFETIME = timedelta(hours=2)


def credential_key(method: str | None, credential_id: str | None) -> str | None:
    """`session:<id>` or `api_token:<id>`: what a connection records of the credential that opened it."""
    if not method or not credential_id:
        return None
    return f"{method}:{credential_id}"


def drop_connections_opened_by(connection: Connection, key: str) -> int:
    """End the live connections `key` opened, now; how many. The sweep closes them at API Gateway."""
    return _end(connection, ws_connections.c.credential == key)


def drop_connections_of_user(connection: Connection, user_id: uuid.UUID) -> int:
    """End every live connection of a user (deactivated), now; how many."""
    return _end(connection, ws_connections.c.user_id == user_id)


def _end(connection: Connection, which: ColumnElement[bool]) -> int:
    ended = update(ws_connections).where(which, ws_connections.c.expires_at > func.now()).values(expires_at=func.now())
    return connection.execute(ended).rowcount
