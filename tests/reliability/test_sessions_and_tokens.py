"""Sessions and tokens over real HTTP through the local stack: Google sign-in (against a fake
provider on loopback) and its negatives, the session cookie's flags, CSRF refusal of cross-site
cookie writes, session fixation, sign-out, and bearer tokens."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from reliability.people import CSRF_HEADER, SESSION_COOKIE, TEST_LOGIN_TOKEN, assert_envelope, security_events_for

if TYPE_CHECKING:
    import httpx

    from reliability.conftest import Figures
    from reliability.people import People
    from support.fake_oidc import FakeOidcProvider


def cookie_of(response: httpx.Response) -> SimpleCookie:
    return SimpleCookie(response.headers["set-cookie"])


def as_browser(session: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session}", **CSRF_HEADER}


def google_login(people: People, next_path: str = "/prs") -> dict[str, str]:
    started = people.http.get("/auth/google/login", params={"next": next_path})
    assert started.status_code == 302, started.text
    return dict(parse_qsl(urlsplit(started.headers["location"]).query))


def test_google_sign_in_gives_a_session_with_every_protective_flag(
    people: People, google: FakeOidcProvider, figures: Figures
) -> None:
    # Given a user who starts signing in, is sent to Google with PKCE, a state and a nonce
    params = google_login(people, "/prs?status=pending")
    assert params["code_challenge_method"] == "S256" and params["state"] and params["nonce"]

    # When Google sends them back with a code
    back = people.http.get(
        "/auth/google/callback",
        params={"code": google.authorize(params, email="ada@example.com"), "state": params["state"]},
    )

    # Then they land where they started with a session cookie no script or other site can use
    assert back.status_code == 302, back.text
    assert urlsplit(back.headers["location"]).path == "/prs"
    raw = back.headers["set-cookie"]
    cookie = cookie_of(back)[SESSION_COOKIE]
    assert (cookie["path"], cookie["secure"], cookie["httponly"], cookie["samesite"]) == ("/", True, True, "Lax")
    assert "domain" not in raw.lower()  # a __Host- cookie is bound to this host
    me = people.http.get("/api/v1/me", headers=as_browser(cookie.value))
    assert (me.status_code, me.json()["email"]) == (200, "ada@example.com")

    # And the same callback replayed is refused
    replay = people.http.get("/auth/google/callback", params={"code": "again", "state": params["state"]})
    assert replay.status_code == 400
    assert assert_envelope(replay)["details"][0]["code"] == "bad_state"
    figures.record("sessions: Google sign-in + cookie flags", flags_checked=5, replay_refused=1)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "missing_state"),
        ({"state": "forged", "code": "x"}, "bad_state"),
        ({"error": "access_denied", "state": "x"}, "provider_error"),
    ],
)
def test_oauth_negatives_are_400_in_the_envelope_and_audited(
    people: People, query: dict[str, str], reason: str
) -> None:
    answer = people.http.get("/auth/google/callback", params=query)

    assert answer.status_code == 400, answer.text
    error = assert_envelope(answer)
    assert (error["code"], error["details"][0]["code"]) == ("login_failed", reason)
    assert security_events_for(people, [error["requestId"]]) == {error["requestId"]: "login_failed"}


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(people: People, google: FakeOidcProvider, next_path: str) -> None:
    started = people.http.get("/auth/google/login", params={"next": next_path})
    if started.status_code == 302:
        params = dict(parse_qsl(urlsplit(started.headers["location"]).query))
        back = people.http.get(
            "/auth/google/callback", params={"code": google.authorize(params), "state": params["state"]}
        )
        assert "evil.example" not in back.headers.get("location", ""), back.headers.get("location")
    else:
        assert started.status_code == 400
        assert_envelope(started)


def test_cross_site_cookie_writes_are_refused_and_bearer_writes_are_not(people: People, figures: Figures) -> None:
    # Given a signed-in browser and a CLI
    browser = people.browser("csrf", ("pr.read", "pr.write", "tokens.manage"))
    approver = people.browser("csrf-approver", ("pr.read", "pr.approve"))
    body: dict[str, Any] = {
        "title": "CSRF",
        "payee": "ACME",
        "amount": "1.00",
        "currency": "EUR",
        "approvalFlow": [{"name": "One", "mode": "anyof", "approvers": [approver.id]}],
    }
    cookie_only = {"Cookie": browser.headers["Cookie"]}

    # When another site's form posts with the ambient cookie (no custom header, a foreign Origin)
    forged = people.http.post("/api/v1/prs", headers={**cookie_only, "Origin": "https://evil.example"}, json=body)
    bare = people.http.post("/api/v1/prs", headers=cookie_only, json=body)

    # Then both are refused and recorded; our page's request goes through
    for refused in (forged, bare):
        assert refused.status_code == 403, refused.text
        assert assert_envelope(refused)["code"] == "csrf_failed"
    ids = [assert_envelope(forged)["requestId"], assert_envelope(bare)["requestId"]]
    assert set(security_events_for(people, ids).values()) == {"access_denied"}
    assert people.http.post("/api/v1/prs", headers=browser.headers, json=body).status_code == 201
    # A bearer token carries no ambient credential: no CSRF header needed
    cli = people.cli("csrf-cli", ("pr.read", "pr.write"))
    assert people.http.post("/api/v1/prs", headers=cli.headers, json=body).status_code == 201
    figures.record("sessions: CSRF", cross_site_refused=2, same_site_allowed=1, bearer_exempt=1)


def test_session_fixation_and_sign_out(people: People, figures: Figures) -> None:
    # Given an attacker who planted a session cookie of their choosing in the victim's browser
    planted = "attacker-chosen-session-value"
    login = people.http.post(
        "/auth/test-login",
        headers={"Cookie": f"{SESSION_COOKIE}={planted}"},
        json={"token": TEST_LOGIN_TOKEN, "email": people.unique_email("victim"), "permissions": ["pr.read"]},
    )
    # When the victim signs in, the server issues its own new session; the planted value is worthless
    assert login.status_code == 200, login.text
    issued = cookie_of(login)[SESSION_COOKIE].value
    assert issued != planted
    assert people.http.get("/api/v1/me", headers=as_browser(planted)).status_code == 401

    # And signing in again rotates the session, revoking the one presented
    again = people.http.post(
        "/auth/test-login",
        headers=as_browser(issued),
        json={"token": TEST_LOGIN_TOKEN, "email": login.json()["email"], "permissions": ["pr.read"]},
    )
    rotated = cookie_of(again)[SESSION_COOKIE].value
    assert rotated != issued
    assert people.http.get("/api/v1/me", headers=as_browser(issued)).status_code == 401

    # When they sign out, the cookie is cleared and the session is over for good
    out = people.http.post("/auth/logout", headers=as_browser(rotated))
    assert out.status_code == 204, out.text
    assert cookie_of(out)[SESSION_COOKIE]["max-age"] == "0"
    after = people.http.get("/api/v1/me", headers=as_browser(rotated))
    assert after.status_code == 401
    assert_envelope(after)
    figures.record("sessions: fixation and sign-out", planted_refused=1, rotated=1, signed_out=1)


def test_a_wrong_test_login_token_is_refused(people: People) -> None:
    answer = people.http.post(
        "/auth/test-login", json={"token": "guess", "email": people.unique_email("intruder"), "permissions": []}
    )

    assert answer.status_code in (401, 403), answer.text
    assert "set-cookie" not in answer.headers
    assert_envelope(answer)
