"""$connect: the session cookie or a single-use ticket, from an allowed Origin; else refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from payreq.db import transaction
from payreq.db.schema import audit_events, denial_windows, ws_connections, ws_tickets

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from integration.sync.conftest import Sockets
    from support.api_client import ApiClient


def ticket_for(browser: ApiClient) -> str:
    response = browser.post("/api/v1/sync/ticket")
    assert response.status == 201, response.body
    assert response.headers["cache-control"] == "no-store"
    expires = datetime.fromisoformat(response.body["expiresAt"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=30)
    return str(response.body["ticket"])


def test_a_ticket_opens_one_connection_once(
    sockets: Sockets, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    browser = signed_in("rita@example.com", ("pr.read",))
    ticket = ticket_for(browser)

    first, opened = sockets.connect(ticket=ticket)
    _, reused = sockets.connect(ticket=ticket)

    assert (opened, reused) == (200, 401)
    with engine.connect() as connection:
        row = connection.execute(select(ws_connections)).one()
    assert row.connection_id == first and str(row.user_id) == browser.get("/api/v1/me").body["id"]
    assert timedelta(hours=1, minutes=59) < row.expires_at - row.connected_at <= timedelta(hours=2)


def test_an_expired_or_unknown_ticket_or_none_at_all_is_refused(
    sockets: Sockets, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    ticket = ticket_for(signed_in("rita@example.com", ("pr.read",)))
    with transaction(engine) as connection:
        connection.execute(update(ws_tickets).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    assert sockets.connect(ticket=ticket)[1] == 401
    assert sockets.connect(ticket="not-a-ticket")[1] == 401
    assert sockets.connect()[1] == 401
    with engine.connect() as connection:
        assert connection.execute(select(ws_connections)).all() == []
        refusals = connection.execute(
            select(denial_windows.c.kind, denial_windows.c.count).where(denial_windows.c.route == "$connect")
        ).all()
        events = connection.execute(select(audit_events.c.id).where(audit_events.c.action == "access_denied")).all()
    # Every refusal is counted; refusals alike in one minute are one event in the chain (the two
    # invalid tickets may straddle a minute: then they are two windows, each with its event).
    counted: dict[str, int] = {}
    for kind, count in refusals:
        counted[kind] = counted.get(kind, 0) + count
    assert counted == {"invalid_ticket": 2, "unauthenticated": 1}
    assert len(events) == len(refusals)


def test_a_ticket_needs_a_signed_in_caller(client: ApiClient) -> None:
    assert client.post("/api/v1/sync/ticket").status == 401


def test_the_session_cookie_opens_a_connection_from_an_allowed_origin_only(
    sockets: Sockets, signed_in: Callable[..., ApiClient]
) -> None:
    browser = signed_in("rita@example.com", ("pr.read",))

    assert sockets.connect(browser)[1] == 200
    assert sockets.connect(browser, origin="https://evil.example")[1] == 403
    # A ticket does not make a foreign page's socket acceptable either
    assert sockets.connect(ticket=ticket_for(browser), origin="https://evil.example")[1] == 403
    # Clients that are not browsers send no Origin
    assert sockets.connect(browser, origin=None)[1] == 200


def test_disconnect_forgets_the_connection_and_subscribing_checks_topics(
    sockets: Sockets, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    browser = signed_in("rita@example.com", ("pr.read", "payment.read"))
    connection_id, _ = sockets.connect(browser)

    reply = sockets.send(connection_id, "subscribe", topics=["prs", "payments", "pr:x1", "invoices", "bogus", "prs"])
    assert reply["type"] == "subscribed"
    assert (reply["topics"], reply["refused"]) == (["payments", "pr:x1", "prs"], ["invoices", "bogus"])
    assert sockets.send(connection_id, "ping") == {"type": "pong"}
    assert sockets.send(connection_id, "subscribe", topics="prs")["code"] == "invalid_topics"

    sockets.disconnect(connection_id)

    assert sockets.send(connection_id, "subscribe", topics=["prs"])["code"] == "not_connected"
    with engine.connect() as connection:
        assert connection.execute(select(ws_connections)).all() == []
