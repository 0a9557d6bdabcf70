"""A socket reads no more than the credential that opened it: a `pr.read` token's ticket opens a
socket that hears payment requests, never invoices or payments, however much its owner may read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, update

from integration.sync.conftest import SCHEDULED
from payreq.db import transaction
from payreq.db.schema import ws_connections
from payreq.outbox import publish_change
from support.api_client import ApiClient
from support.connections_endpoint import Answer
from sync_api.broadcaster import CLOSE_ATTEMPTS

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from integration.sync.conftest import Sockets
    from support.connections_endpoint import ConnectionsEndpoint

pytestmark = pytest.mark.usefixtures("management")

READER = ("pr.read", "invoice.read", "payment.read", "tokens.manage")


def bearer_with(browser: ApiClient, *scopes: str) -> ApiClient:
    issued = browser.post("/api/v1/tokens", json_body={"name": "live view", "scopes": list(scopes)})
    assert issued.status == 201, issued.body
    return ApiClient(headers={"Authorization": f"Bearer {issued.body['token']}"})


def ticket_of(client: ApiClient) -> str:
    response = client.post("/api/v1/sync/ticket")
    assert response.status == 201, response.body
    return str(response.body["ticket"])


def test_a_pr_read_tokens_ticket_subscribes_to_requests_only(
    sockets: Sockets, signed_in: Callable[..., ApiClient]
) -> None:
    # Given a user who may read everything, and a CLI token of theirs scoped to pr.read
    cli = bearer_with(signed_in("tess@example.com", READER), "pr.read")

    # When the token's ticket opens a socket that asks for every collection
    connection_id, status = sockets.connect(ticket=ticket_of(cli), origin=None)
    reply = sockets.send(connection_id, "subscribe", topics=["prs", "invoices", "payments"])

    # Then only requests are granted, as on the HTTP routes (where the token gets 403 on the others)
    assert status == 200
    assert (reply["topics"], reply["refused"]) == (["prs"], ["invoices", "payments"])
    assert cli.get("/api/v1/invoices").status == 403


def test_the_broadcast_sends_nothing_beyond_the_sockets_scopes(
    sockets: Sockets,
    signed_in: Callable[..., ApiClient],
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
) -> None:
    # Given two sockets of one user on invoices: one opened by the browser's session, one by a
    # pr.read token's ticket (its topics forced, as if subscribed before the scopes were checked)
    browser = signed_in("tess@example.com", READER)
    full = sockets.subscribed(browser, "invoices")
    narrow, _ = sockets.connect(ticket=ticket_of(bearer_with(browser, "pr.read")), origin=None)
    with transaction(engine) as connection:
        connection.execute(
            update(ws_connections).where(ws_connections.c.connection_id == narrow).values(topics=["invoices"])
        )

    # When an invoice changes and the broadcaster runs
    with transaction(engine) as connection:
        publish_change(connection, entity="invoice", entity_id=uuid.uuid4(), op="created", version=1)
    result = broadcast_now()

    # Then the session's socket hears it and the token's does not
    assert result["sent"] == 1
    assert len(sockets.changes(full)) == 1 and sockets.changes(narrow) == []


def test_sign_out_and_token_revocation_silence_the_sockets_they_opened(
    sockets: Sockets,
    signed_in: Callable[..., ApiClient],
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
) -> None:
    # Given a browser's socket (its session cookie) and a CLI's socket (its token's ticket), on prs,
    # and a colleague's socket that stays
    browser = signed_in("tess@example.com", READER)
    colleague = sockets.subscribed(signed_in("theo@example.com", READER), "prs")
    by_cookie = sockets.subscribed(browser, "prs")
    issued = browser.post("/api/v1/tokens", json_body={"name": "live", "scopes": ["pr.read"]}).body
    by_ticket, _ = sockets.connect(ticket=ticket_of(ApiClient(headers={"Authorization": f"Bearer {issued['token']}"})))
    assert sockets.send(by_ticket, "subscribe", topics=["prs"])["topics"] == ["prs"]

    # When the token is revoked and the browser signs out
    assert browser.post(f"/api/v1/tokens/{issued['id']}/revoke").status == 200
    assert browser.post("/auth/logout").status == 204

    # Then a change reaches the colleague only, and the silenced sockets cannot subscribe again
    with transaction(engine) as connection:
        publish_change(connection, entity="pr", entity_id=uuid.uuid4(), op="created", version=1)
    assert broadcast_now()["sent"] == 1
    assert len(sockets.changes(colleague)) == 1
    assert sockets.changes(by_cookie) == [] and sockets.changes(by_ticket) == []
    assert sockets.send(by_cookie, "subscribe", topics=["prs"])["code"] == "not_connected"


def test_the_sweep_closes_the_sockets_a_revocation_ended_and_leaves_the_others_open(
    sockets: Sockets,
    signed_in: Callable[..., ApiClient],
    broadcast_now: Callable[..., dict[str, Any]],
    management: ConnectionsEndpoint,
    engine: Engine,
) -> None:
    # Given a browser's socket and a colleague's, and a socket whose two hours API Gateway has ended
    browser = signed_in("tess@example.com", READER)
    colleague = sockets.subscribed(signed_in("theo@example.com", READER), "prs")
    mine = sockets.subscribed(browser, "prs")
    old = sockets.subscribed(signed_in("otto@example.com", READER), "prs")
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with transaction(engine) as connection:
        connection.execute(
            update(ws_connections)
            .where(ws_connections.c.connection_id == old)
            .values(connected_at=long_ago, expires_at=long_ago + timedelta(hours=2))
        )

    # When the browser signs out and the scheduled sweep runs
    assert browser.post("/auth/logout").status == 204
    swept = broadcast_now(SCHEDULED)

    # Then the browser's socket is closed at API Gateway (its page sees the close and, reconnecting,
    # is refused), the expired one is forgotten without a call, and the colleague's stays
    assert management.closed() == [mine]
    assert swept["expiredConnections"] == 2
    with engine.connect() as connection:
        left = set(connection.scalars(select(ws_connections.c.connection_id)))
    assert left == {colleague}


def test_deactivating_a_user_closes_all_their_sockets(
    sockets: Sockets,
    signed_in: Callable[..., ApiClient],
    broadcast_now: Callable[..., dict[str, Any]],
    management: ConnectionsEndpoint,
) -> None:
    # Given a user with two live sockets (two browsers), and a colleague with one
    first, second = signed_in("tess@example.com", READER), signed_in("tess@example.com", READER)
    sockets_of_tess = {sockets.subscribed(first, "prs"), sockets.subscribed(second, "prs")}
    colleague = sockets.subscribed(signed_in("theo@example.com", READER), "prs")
    admin = signed_in("admin@example.com", ("users.admin",))
    tess = first.get("/api/v1/me").body

    # When an admin deactivates her and the sweep runs
    changed = admin.patch(
        f"/api/v1/users/{tess['id']}", json_body={"isActive": False}, headers={"If-Match": f'"{tess["version"]}"'}
    )
    assert changed.status == 200, changed.body
    broadcast_now(SCHEDULED)

    # Then both of her sockets are closed, and the colleague's is not
    assert set(management.closed()) == sockets_of_tess
    assert colleague not in management.closed()


def test_an_endpoint_that_refuses_to_close_stops_the_sweep_and_the_next_sweep_closes_the_rest(
    sockets: Sockets,
    signed_in: Callable[..., ApiClient],
    broadcast_now: Callable[..., dict[str, Any]],
    management: ConnectionsEndpoint,
    engine: Engine,
) -> None:
    # Given three signed-out browsers whose sockets are still open, and API Gateway failing every close
    browsers = [signed_in(f"user{n}@example.com", READER) for n in range(3)]
    open_sockets = [sockets.subscribed(browser, "prs") for browser in browsers]
    for browser in browsers:
        assert browser.post("/auth/logout").status == 204
    management.close_answer = lambda connection_id: Answer(500)

    # When the scheduled sweep runs
    swept = broadcast_now(SCHEDULED)

    # Then it gave up at the first socket after one retry (an unreachable endpoint costs one close's
    # attempts, not every socket's), closed nothing and forgot nothing
    attempts = management.close_attempts()
    assert len(set(attempts)) == 1 and len(attempts) == CLOSE_ATTEMPTS == 2
    assert swept["expiredConnections"] == 0
    with engine.connect() as connection:
        left = set(connection.scalars(select(ws_connections.c.connection_id)))
    assert set(open_sockets) <= left

    # And when API Gateway answers again, the next sweep closes all three and forgets them
    management.close_answer = lambda connection_id: None
    swept = broadcast_now(SCHEDULED)
    assert set(management.closed()) == set(open_sockets)
    assert swept["expiredConnections"] == 3
