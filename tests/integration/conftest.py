"""For every integration test: auth settings pointing at a fake Google on loopback, and signed-in
browsers (test-token login) for the flows to be exercised as real users."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.api_client import ApiClient
from support.fake_oidc import FakeOidcProvider
from support.team import APPROVER, REQUESTER, Member, Team

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TEST_LOGIN_TOKEN = "let-me-in-for-tests"


@pytest.fixture(scope="session")
def google() -> Iterator[FakeOidcProvider]:
    provider = FakeOidcProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def auth_environment(google: FakeOidcProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {
        **google.google_settings(),
        "AUTH_PUBLIC_BASE_URL": "https://payreq.example",
        "AUTH_ALLOWED_ORIGINS": "https://payreq.example",
        "AUTH_TEST_LOGIN_TOKEN": TEST_LOGIN_TOKEN,
        # Each test sees revocations at once; the cache has a test of its own.
        "AUTH_CACHE_SECONDS": "0",
        # Tests write their approval flows inline; the default (managers only) has tests of its own.
        "PAYREQ_INLINE_FLOWS": "anyone",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def client(database_url: str) -> ApiClient:
    return ApiClient()


@pytest.fixture
def signed_in(database_url: str) -> Callable[..., ApiClient]:
    """A browser signed in through test-token login as a user with the given permissions."""

    def sign_in(email: str = "bea@example.com", permissions: tuple[str, ...] = ()) -> ApiClient:
        browser = ApiClient()
        response = browser.post(
            "/auth/test-login", json_body={"token": TEST_LOGIN_TOKEN, "email": email, "permissions": list(permissions)}
        )
        assert response.status == 200, response.body
        return browser

    return sign_in


@pytest.fixture
def team(signed_in: Callable[..., ApiClient]) -> Team:
    """Signed-in colleagues: a requester, three approvers, a clerk and a treasurer."""

    def member(email: str, permissions: tuple[str, ...]) -> Member:
        browser = signed_in(email, permissions)
        return Member(browser, browser.get("/api/v1/me").body["id"])

    return Team(
        requester=member("rita@example.com", REQUESTER),
        alice=member("alice@example.com", APPROVER),
        bob=member("bob@example.com", APPROVER),
        carol=member("carol@example.com", APPROVER),
        clerk=member("clerk@example.com", (*REQUESTER, "pr.approve", "flows.manage")),
        treasurer=member("tess@example.com", ("pr.read", "payment.read", "payment.write")),
    )
