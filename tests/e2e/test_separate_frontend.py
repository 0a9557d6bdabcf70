"""A frontend served from its own dev server (`--allow-origin http://localhost:5173`) uses the local
stack as the demo page does: CORS with credentials, cookie-authenticated writes from its origin, and
the WebSocket; an origin nobody allowed gets none of it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
from websockets.sync.client import connect

from e2e.conftest import FRONTEND_ORIGIN

if TYPE_CHECKING:
    from support.local_stack import LocalStack


def test_a_preflight_from_the_frontends_origin_is_allowed_with_credentials(stack: LocalStack) -> None:
    # When the dev server's page asks to PATCH a request with If-Match and an Idempotency-Key
    preflight = httpx.options(
        f"{stack.api_url}/api/v1/prs/00000000-0000-4000-8000-000000000000",
        headers={
            "Origin": FRONTEND_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type,if-match,idempotency-key",
        },
        timeout=30,
    )

    # Then the browser may send it, with the session cookie, and read the ETag of the answer
    assert preflight.headers["access-control-allow-origin"] == FRONTEND_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert {"if-match", "idempotency-key"} <= set(preflight.headers["access-control-allow-headers"].lower().split(","))


def test_another_origin_is_not_allowed(stack: LocalStack) -> None:
    answer = httpx.get(f"{stack.api_url}/api/v1/health/pr", headers={"Origin": "http://localhost:9999"}, timeout=30)

    assert "access-control-allow-origin" not in answer.headers


def test_a_cookie_write_from_the_frontends_origin_passes_the_csrf_check(stack: LocalStack) -> None:
    # Given a browser signed in on the frontend's page
    cookie = stack.session_cookie("frontend@example.com", ["pr.read", "pr.write"])

    # When its page creates a draft with only its Origin (no X-Requested-With)
    created = httpx.post(
        f"{stack.api_url}/api/v1/prs",
        headers={"Cookie": cookie, "Origin": FRONTEND_ORIGIN},
        json={"title": "Desks", "payee": "ACME", "amount": "10.00", "currency": "EUR", "approvalFlow": None},
        timeout=30,
    )

    # Then the CSRF check lets it through (the body is what is wrong here)
    assert created.json()["error"]["code"] != "csrf_failed", created.text


def test_the_websocket_accepts_the_frontends_origin(stack: LocalStack) -> None:
    cookie = stack.session_cookie("frontend@example.com", ["pr.read", "pr.write"])

    with connect(stack.websocket_url, additional_headers={"Cookie": cookie, "Origin": FRONTEND_ORIGIN}) as socket:
        socket.send(json.dumps({"action": "ping"}))
        assert json.loads(socket.recv(timeout=10))["type"] == "pong"
