"""Connections over TCP (as to RDS Proxy) disable Nagle's algorithm, which pg8000 leaves on."""

from __future__ import annotations

import socket

from sqlalchemy import text
from sqlalchemy.engine import make_url

from payreq.db.engine import database_url, engine_from_url
from payreq.settings import DatabaseSettings
from support.tcp_relay import tcp_relay


def test_tcp_connections_are_made_with_tcp_nodelay(database_url: str) -> None:
    # Given the test database reachable over loopback TCP
    unix_socket = database_url_socket(database_url)
    with tcp_relay(unix_socket) as port:
        url = make_url(database_url).set(host="127.0.0.1", port=port, query={"sslmode": "disable"})
        engine = engine_from_url(url.render_as_string(hide_password=False))
        try:
            # When the engine connects and queries
            with engine.connect() as connection:
                answer = connection.scalar(text("SELECT 42"))
                sock = connection.connection.dbapi_connection._usock  # type: ignore[union-attr]
                nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            engine.dispose()

    # Then it works over TCP, with small writes sent at once rather than held back by Nagle
    assert answer == 42
    assert nodelay != 0


def database_url_socket(url: str) -> str:
    _, connect_args = database_url(DatabaseSettings(DATABASE_URL=url))
    unix_socket = make_url(url).query.get("host")
    assert isinstance(unix_socket, str) and connect_args["ssl_context"] is False
    return f"{unix_socket}/.s.PGSQL.5432"
