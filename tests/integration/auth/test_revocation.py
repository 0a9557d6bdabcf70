"""Signing out and revoking a token take effect on the next request, in every warm container; and
what mints credentials (tokens, tickets) or changes who may do what asks the database itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from auth_api import authorizer
from support.api_client import ApiClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

ADMIN = ("tokens.manage", "users.admin", "pr.read")


@pytest.fixture(autouse=True)
def warm_authorizer_with_a_long_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # What deployed containers run with: the authorizer may reuse what it can for 30 s.
    monkeypatch.setenv("AUTH_CACHE_SECONDS", "30")


def test_after_sign_out_the_same_cookie_can_do_nothing_at_all(signed_in: Callable[..., ApiClient]) -> None:
    # Given a signed-in admin whose session the authorizer has just admitted
    browser = signed_in("ada@example.com", ADMIN)
    cookie = dict(browser.cookies)
    assert browser.get("/api/v1/me").status == 200

    # When they sign out, and the old cookie is replayed (a copy kept by malware, another tab)
    assert browser.post("/auth/logout", headers={"X-Requested-With": "test"}).status == 204
    stolen = ApiClient(cookies=cookie, headers={"X-Requested-With": "test"})

    # Then every kind of route refuses it at once: reads, writes, minting tokens and tickets, admin
    answers = {
        "read": stolen.get("/api/v1/me"),
        "write": stolen.post("/api/v1/prs", json_body={"title": "x"}),
        "new API token": stolen.post("/api/v1/tokens", json_body={"name": "kept", "scopes": ["pr.read"]}),
        "WebSocket ticket": stolen.post("/api/v1/sync/ticket"),
        "user admin": stolen.get("/api/v1/users"),
    }
    assert {kind: answer.status for kind, answer in answers.items()} == dict.fromkeys(answers, 401)


def test_a_revoked_api_token_is_refused_at_once(signed_in: Callable[..., ApiClient]) -> None:
    # Given a CLI token in use
    browser = signed_in("ada@example.com", ADMIN)
    issued = browser.post("/api/v1/tokens", json_body={"name": "ci", "scopes": ["pr.read", "tokens.manage"]}).body
    cli = ApiClient(headers={"Authorization": f"Bearer {issued['token']}"})
    assert cli.get("/api/v1/me").status == 200

    # When its owner revokes it
    assert browser.post(f"/api/v1/tokens/{issued['id']}/revoke").status == 200

    # Then its next request is refused, and it cannot mint a successor
    assert cli.get("/api/v1/me").status == 401
    assert cli.post("/api/v1/tokens", json_body={"name": "successor", "scopes": ["pr.read"]}).status == 401


def test_minting_routes_ask_the_database_even_when_the_authorizers_answer_is_stale(
    signed_in: Callable[..., ApiClient], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an authorizer answer that is out of date by the time the function runs (the session is
    # revoked right after the authorizer admitted it: a sign-out racing the request, or a cache)
    browser = signed_in("ada@example.com", ADMIN)
    admit = authorizer.lambda_handler

    def admit_then_sign_out(event: dict[str, Any], context: Any) -> dict[str, Any]:
        answer = admit(event, context)
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE sessions SET revoked_at = now()")
        return answer

    monkeypatch.setattr(authorizer, "lambda_handler", admit_then_sign_out)

    # When that request asks for a new token, a ticket, or a permission change
    token = browser.post("/api/v1/tokens", json_body={"name": "kept", "scopes": ["pr.read"]})
    ticket = browser.post("/api/v1/sync/ticket")
    users = browser.get("/api/v1/users")

    # Then each is refused: the function checked the credential itself
    assert [(r.status, r.error_code) for r in (token, ticket, users)] == [(401, "unauthenticated")] * 3
