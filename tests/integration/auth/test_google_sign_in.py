"""Signing in with Google: the whole round trip, and every way a sign-in must fail."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from auth_api.google_login import browser_binding
from payreq import settings
from payreq.db.schema import audit_events
from support.api_client import ApiClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiResponse
    from support.fake_oidc import FakeOidcProvider


def start(client: ApiClient, next_path: str = "/prs") -> dict[str, str]:
    response = client.get("/auth/google/login", query={"next": next_path})
    assert response.status == 302, response.body
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def come_back(client: ApiClient, code: str | None, state: str | None) -> ApiResponse:
    query = {name: value for name, value in (("code", code), ("state", state)) if value is not None}
    return client.get("/auth/google/callback", query=query)


def security_log(engine: Engine) -> list[tuple[str, dict[str, Any] | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.after)
            .where(audit_events.c.category == "security")
            .order_by(audit_events.c.id)
        )
        # Without the counting bookkeeping of refusals (kind, route, window, count): tested on its own.
        return [(row.action, _without(row.after, DENIAL_COUNTING)) for row in rows]


DENIAL_COUNTING = frozenset({"kind", "route", "window", "count"})


def _without(details: dict[str, Any] | None, keys: frozenset[str]) -> dict[str, Any] | None:
    return None if details is None else {key: value for key, value in details.items() if key not in keys}


def test_sign_in_use_the_api_and_sign_out(client: ApiClient, google: FakeOidcProvider, engine: Engine) -> None:
    # Given a user who starts signing in from the PR list
    params = start(client, "/prs?status=pending")
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    assert params["redirect_uri"] == "https://payreq.example/auth/google/callback"

    # When Google sends them back with a code
    response = come_back(client, google.authorize(params, email="ada@example.com"), params["state"])

    # Then they land where they started, holding a session cookie with every protective flag
    assert response.status == 302
    assert response.headers["location"] == "https://payreq.example/prs?status=pending"
    [set_cookie] = [header for header in response.cookies if header.startswith("__Host-payreq_session=")]
    cookie = SimpleCookie(set_cookie)["__Host-payreq_session"]
    assert (cookie["path"], cookie["secure"], cookie["httponly"], cookie["samesite"]) == ("/", True, True, "Lax")

    # And the API knows who they are
    me = client.get("/api/v1/me")
    assert (me.status, me.body["email"]) == (200, "ada@example.com")

    # When they sign out, the session is gone for good
    assert client.post("/auth/logout").status == 204
    client.cookies["__Host-payreq_session"] = SimpleCookie(set_cookie)["__Host-payreq_session"].value
    after = client.get("/api/v1/me")
    assert (after.status, after.error_code) == (401, "unauthenticated")
    assert "signed out" in after.body["error"]["message"]
    assert [action for action, _ in security_log(engine)] == ["login_succeeded", "logout", "bad_token", "access_denied"]


def test_a_returning_user_is_recognised_by_google_subject_not_email(
    client: ApiClient, google: FakeOidcProvider
) -> None:
    first = start(client)
    come_back(client, google.authorize(first, sub="sub-42", email="old@example.com"), first["state"])
    first_id = client.get("/api/v1/me").body["id"]

    second = start(client)
    come_back(client, google.authorize(second, sub="sub-42", email="old@example.com"), second["state"])

    assert client.get("/api/v1/me").body["id"] == first_id


def test_each_sign_in_issues_a_new_session_and_revokes_the_one_presented(
    client: ApiClient, google: FakeOidcProvider
) -> None:
    # Given a session id planted in the browser (fixation) or left over from before
    first = start(client)
    come_back(client, google.authorize(first), first["state"])
    planted = client.cookies["__Host-payreq_session"]

    # When the user signs in again
    second = start(client)
    come_back(client, google.authorize(second), second["state"])

    # Then the session id changed and the old one no longer works
    assert client.cookies["__Host-payreq_session"] != planted
    assert client.get("/api/v1/me").status == 200
    client.cookies["__Host-payreq_session"] = planted
    assert client.get("/api/v1/me").status == 401


REAL = "the real one"


@dataclass(frozen=True)
class BadCallback:
    reason: str  # what the security log must say
    consent: dict[str, Any] = field(default_factory=dict)  # how the provider (or an attacker) misbehaves
    code: str | None = REAL
    state: str | None = REAL


AN_HOUR_AGO = int(time.time()) - 3600
BAD_CALLBACKS = {
    # The browser's binding cookie is for the state it was given: any other state is not its sign-in.
    "wrong state": BadCallback("browser_mismatch", state="not-the-state"),
    "missing state": BadCallback("missing_state", state=None),
    "wrong nonce": BadCallback("id_token_invalid_nonce", {"nonce": "someone-elses"}),
    "wrong audience": BadCallback("id_token_invalid_aud", {"aud": "another-app"}),
    "wrong issuer": BadCallback("id_token_invalid_iss", {"iss": "https://evil.example"}),
    "expired id token": BadCallback("id_token_expired", {"exp": AN_HOUR_AGO, "iat": AN_HOUR_AGO - 3600}),
    "alg none": BadCallback("id_token_algorithm_not_allowed", {"signing": "alg_none"}),
    "HS256 with the public key": BadCallback("id_token_algorithm_not_allowed", {"signing": "hs256_with_public_key"}),
    "injected jwk header": BadCallback("id_token_bad_signature", {"signing": "injected_jwk"}),
    "unknown kid": BadCallback("id_token_unknown_key", {"signing": "unknown_kid"}),
    "unverified email": BadCallback("email_unverified", {"email_verified": False}),
    "code Google never issued": BadCallback("code_rejected", code="never-issued"),
}


@pytest.mark.parametrize("bad", BAD_CALLBACKS.values(), ids=BAD_CALLBACKS.keys())
def test_a_bad_callback_is_refused_with_a_clear_400_and_recorded(
    bad: BadCallback, client: ApiClient, google: FakeOidcProvider, engine: Engine
) -> None:
    # Given a sign-in under way, and a callback that has gone wrong in one particular way
    params = start(client)
    code = google.authorize(params, **bad.consent)
    state = params["state"]

    # When the browser comes back with it
    response = come_back(client, code if bad.code == REAL else bad.code, state if bad.state == REAL else bad.state)

    # Then no session is given, the reason is plain, and it is on record
    assert (response.status, response.error_code) == (400, "login_failed")
    assert [detail["code"] for detail in response.body["error"]["details"]] == [bad.reason]
    assert response.cookies == [] and "__Host-payreq_session" not in client.cookies
    assert security_log(engine)[-1] == ("login_failed", {"method": "google", "reason": bad.reason})


def test_a_replayed_callback_is_refused(client: ApiClient, google: FakeOidcProvider, engine: Engine) -> None:
    # Given a sign-in that completed
    params = start(client)
    code = google.authorize(params)
    assert come_back(client, code, params["state"]).status == 302

    # When the same callback URL is replayed elsewhere (say, from a leaked log)
    elsewhere = come_back(ApiClient(), code, params["state"])
    # Or in the same browser, even with its sign-in cookie put back
    same_browser = ApiClient(cookies={"__Host-payreq_sign_in": browser_binding(params["state"])})
    again = come_back(same_browser, code, params["state"])

    # Then both are refused before Google is even asked again
    assert (elsewhere.status, elsewhere.body["error"]["details"][0]["code"]) == (400, "browser_mismatch")
    assert (again.status, again.body["error"]["details"][0]["code"]) == (400, "bad_state")
    assert google.token_requests >= 1


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example", "/\\evil.example", "evil"])
def test_next_must_be_a_path_on_this_site(next_path: str, client: ApiClient, engine: Engine) -> None:
    response = client.get("/auth/google/login", query={"next": next_path})

    assert (response.status, response.body["error"]["details"][0]["code"]) == (400, "open_redirect")
    assert security_log(engine)[-1][0] == "login_failed"


def test_only_allowed_domains_may_sign_in(
    client: ApiClient, google: FakeOidcProvider, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_GOOGLE_ALLOWED_DOMAINS", "payreq.example")
    params = start(client)
    assert params["hd"] == "payreq.example"

    response = come_back(client, google.authorize(params, email="mallory@gmail.com"), params["state"])

    assert (response.status, response.body["error"]["details"][0]["code"]) == (400, "domain_not_allowed")
    assert security_log(engine)[-1] == ("login_failed", {"method": "google", "reason": "domain_not_allowed"})


def test_a_callback_started_in_another_browser_is_refused_and_the_victim_stays_signed_in(
    google: FakeOidcProvider, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given a victim signed in, and an attacker who consented with their own Google account
    victim = signed_in("vera@example.com", ("pr.read",))
    attacker = ApiClient()
    params = start(attacker)
    code = google.authorize(params, sub="mallory-sub", email="mallory@example.com")

    # When the victim's browser is made to open the attacker's callback URL (login CSRF)
    response = come_back(victim, code, params["state"])

    # Then it is refused, recorded, and the victim is still themselves
    assert (response.status, response.body["error"]["details"][0]["code"]) == (400, "browser_mismatch")
    assert security_log(engine)[-1] == ("login_failed", {"method": "google", "reason": "browser_mismatch"})
    me = victim.get("/api/v1/me")
    assert (me.status, me.body["email"]) == (200, "vera@example.com")


def test_sign_in_leaves_a_short_lived_host_cookie_holding_a_hash_of_the_state(client: ApiClient) -> None:
    response = client.get("/auth/google/login", query={"next": "/prs"})
    state = dict(parse_qsl(urlsplit(response.headers["location"]).query))["state"]

    [set_cookie] = response.cookies
    cookie = SimpleCookie(set_cookie)["__Host-payreq_sign_in"]
    assert cookie.value == browser_binding(state) and state not in set_cookie
    assert (cookie["path"], cookie["secure"], cookie["httponly"], cookie["max-age"]) == ("/", True, True, "600")


@pytest.mark.parametrize(
    "next_path",
    ["/prs\r\nSet-Cookie: planted=1", "/prs\n", "/prs\x00", "/prs\t", "/prs\u2028x", "/prs\u202egnp.exe", "/prs\x7f"],
)
def test_next_with_a_control_or_invisible_character_is_refused(
    next_path: str, client: ApiClient, engine: Engine
) -> None:
    response = client.get("/auth/google/login", query={"next": next_path})

    assert (response.status, response.body["error"]["details"][0]["code"]) == (400, "unsafe_next")
    assert response.cookies == []
    assert security_log(engine)[-1][0] == "login_failed"


def test_a_new_google_account_with_a_users_address_links_only_when_verified(
    client: ApiClient, google: FakeOidcProvider, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given Carol, created by an admin before she ever signed in with Google
    carol_id = signed_in("carol@example.com", ("users.admin",)).get("/api/v1/me").body["id"]

    # When a Google account with her address, not verified, signs in under a subject of its own
    first = start(client)
    unverified = come_back(
        client,
        google.authorize(first, sub="other-sub", email="CAROL@example.com", email_verified=False),
        first["state"],
    )

    # Then it is not Carol: 401 unknown_identity, on record
    assert (unverified.status, unverified.error_code) == (401, "unknown_identity")
    assert security_log(engine)[-1] == ("login_failed", {"method": "google", "reason": "email_unverified"})

    # When her own Google account (verified address) signs in
    second = start(client)
    verified = come_back(client, google.authorize(second, sub="carol-sub", email="carol@example.com"), second["state"])

    # Then it is linked to her account, once, and recorded
    assert verified.status == 302
    assert client.get("/api/v1/me").body["id"] == carol_id
    assert "identity_linked" in [action for action, _ in security_log(engine)]


def test_no_google_account_takes_over_a_user_when_linking_is_off(
    client: ApiClient,
    google: FakeOidcProvider,
    signed_in: Callable[..., ApiClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Carol, and an operator who links no issuer by email
    signed_in("carol@example.com", ("users.admin",))
    monkeypatch.setenv("AUTH_EMAIL_LINKING_ISSUERS", "none")
    settings.reset()

    # When a Google account with her verified address signs in for the first time
    params = start(client)
    response = come_back(client, google.authorize(params, sub="carol-sub", email="carol@example.com"), params["state"])

    # Then it is refused, and no session is given
    assert (response.status, response.error_code) == (401, "unknown_identity")
    assert "__Host-payreq_session" not in client.cookies
