"""WebSocket connections end with the credential that opened them.

A socket is opened with a session cookie or a ticket minted by a session or an API token, and lives
up to two hours. Signing out or revoking the token drops the connections that credential opened:
the broadcaster delivers only to the rows of `ws_connections`, and `subscribe` finds none, so the
socket hears nothing more (API Gateway closes it at its idle or two-hour limit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete

from payreq.db.schema import ws_connections

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def credential_key(method: str | None, credential_id: str | None) -> str | None:
    """`session:<id>` or `api_token:<id>`: what a connection records of the credential that opened it."""
    if not method or not credential_id:
        return None
    return f"{method}:{credential_id}"


def drop_connections_opened_by(connection: Connection, key: str) -> int:
    return connection.execute(delete(ws_connections).where(ws_connections.c.credential == key)).rowcount
