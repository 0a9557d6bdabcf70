"""Sessions and tokens over real HTTP through the local stack: Google sign-in (against a fake
provider on loopback) bound to the browser that started it, and its negatives, the session cookie's
flags, CSRF refusal of cross-site cookie writes, session fixation, sign-out and token revocation
taking effect on the next request in every warm worker, and WebSocket tickets limited to their
credential's scopes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from websockets.asyncio.client import connect

from reliability.people import (
    CSRF_HEADER,
    SESSION_COOKIE,
    TEST_LOGIN_TOKEN,
    assert_envelope,
    refusals_counted,
    security_events_for,
)

if TYPE_CHECKING:
    import httpx

    from reliability.conftest import Figures
    from reliability.people import People
    from support.fake_oidc import FakeOidcProvider


SIGN_IN_COOKIE = "__Host-payreq_sign_in"


def cookie_of(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def as_browser(session: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session}", **CSRF_HEADER}


@dataclass(frozen=True)
class StartedSignIn:
    params: dict[str, str]  # the query Google was sent
    binding: dict[str, str]  # the sign-in cookie the starting browser holds, as it sends it back


def google_login(people: People, next_path: str = "/prs") -> StartedSignIn:
    started = people.http.get("/auth/google/login", params={"next": next_path})
    assert started.status_code == 302, started.text
    # A Secure __Host- cookie: httpx keeps it from plain http, a browser on localhost sends it; so by hand.
    binding = cookie_of(started)[SIGN_IN_COOKIE].value
    return StartedSignIn(
        dict(parse_qsl(urlsplit(started.headers["location"]).query)), {"Cookie": f"{SIGN_IN_COOKIE}={binding}"}
    )


def test_google_sign_in_gives_a_session_with_every_protective_flag(
    people: People, google: FakeOidcProvider, figures: Figures
) -> None:
    # Given a user who starts signing in, is sent to Google with PKCE, a state and a nonce
    started = google_login(people, "/prs?status=pending")
    params = started.params
    assert params["code_challenge_method"] == "S256" and params["state"] and params["nonce"]

    # When Google sends them back with a code, to the browser that started
    back = people.http.get(
        "/auth/google/callback",
        params={"code": google.authorize(params, email="ada@example.com"), "state": params["state"]},
        headers=started.binding,
    )

    # Then they land where they started with a session cookie no script or other site can use
    assert back.status_code == 302, back.text
    assert urlsplit(back.headers["location"]).path == "/prs"
    [raw] = [header for header in back.headers.get_list("set-cookie") if header.startswith(SESSION_COOKIE)]
    cookie = cookie_of(back)[SESSION_COOKIE]
    flags = {
        "Path=/": cookie["path"] == "/",
        "Secure": cookie["secure"] is True,
        "HttpOnly": cookie["httponly"] is True,
        "SameSite=Lax": cookie["samesite"] == "Lax",
        "no Domain": "domain" not in raw.lower(),  # a __Host- cookie is bound to this host
    }
    assert all(flags.values()), flags
    me = people.http.get("/api/v1/me", headers=as_browser(cookie.value))
    assert (me.status_code, me.json()["email"]) == (200, "ada@example.com")

    # And the same callback replayed, even in that browser, is refused
    replay = people.http.get(
        "/auth/google/callback", params={"code": "again", "state": params["state"]}, headers=started.binding
    )
    assert replay.status_code == 400
    assert assert_envelope(replay)["details"][0]["code"] == "bad_state"
    figures.record(
        "sessions: Google sign-in + cookie flags",
        flags_checked=sum(flags.values()),
        replay_refused=int(replay.status_code == 400),
    )


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "missing_state"),
        ({"state": "forged", "code": "x"}, "browser_mismatch"),
        ({"error": "access_denied", "state": "x"}, "provider_error"),
    ],
)
def test_oauth_negatives_are_400_in_the_envelope_and_audited(
    people: People, query: dict[str, str], reason: str
) -> None:
    counted_before, _ = refusals_counted(people, "login_failed")

    answer = people.http.get("/auth/google/callback", params=query)

    assert answer.status_code == 400, answer.text
    error = assert_envelope(answer)
    assert (error["code"], error["details"][0]["code"]) == ("login_failed", reason)
    # Recorded as a refusal: counted in its source/kind/route/minute window, whose first refusal (this
    # one, or an earlier one of the same minute) is in the chain.
    assert refusals_counted(people, "login_failed")[0] == counted_before + 1


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(people: People, google: FakeOidcProvider, next_path: str) -> None:
    started = people.http.get("/auth/google/login", params={"next": next_path})
    if started.status_code == 302:
        params = dict(parse_qsl(urlsplit(started.headers["location"]).query))
        binding = {"Cookie": f"{SIGN_IN_COOKIE}={cookie_of(started)[SIGN_IN_COOKIE].value}"}
        back = people.http.get(
            "/auth/google/callback",
            params={"code": google.authorize(params), "state": params["state"]},
            headers=binding,
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
    counted_before, _ = refusals_counted(people)

    # When another site's form posts with the ambient cookie (no custom header, a foreign Origin)
    forged = people.http.post("/api/v1/prs", headers={**cookie_only, "Origin": "https://evil.example"}, json=body)
    bare = people.http.post("/api/v1/prs", headers=cookie_only, json=body)

    # Then both are refused and recorded; our page's request goes through
    for refused in (forged, bare):
        assert refused.status_code == 403, refused.text
        assert assert_envelope(refused)["code"] == "csrf_failed"
    # (both are counted; the chain gets the first of the minute, the second only adds to its count)
    ids = [assert_envelope(forged)["requestId"], assert_envelope(bare)["requestId"]]
    assert set(security_events_for(people, ids).values()) <= {"access_denied"}
    assert refusals_counted(people)[0] - counted_before == 2
    same_site = people.http.post("/api/v1/prs", headers=browser.headers, json=body)
    assert same_site.status_code == 201
    # A bearer token carries no ambient credential: no CSRF header needed
    cli = people.cli("csrf-cli", ("pr.read", "pr.write"))
    bearer = people.http.post("/api/v1/prs", headers=cli.headers, json=body)
    assert bearer.status_code == 201
    figures.record(
        "sessions: CSRF",
        cross_site_refused=sum(refused.status_code == 403 for refused in (forged, bare)),
        same_site_allowed=int(same_site.status_code == 201),
        bearer_exempt=int(bearer.status_code == 201),
    )


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
    with_planted = people.http.get("/api/v1/me", headers=as_browser(planted))
    assert with_planted.status_code == 401

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
    figures.record(
        "sessions: fixation and sign-out",
        planted_refused=int(with_planted.status_code == 401),
        rotated=int(rotated != issued),
        signed_out=int(after.status_code == 401),
    )


def test_a_wrong_test_login_token_is_refused(people: People) -> None:
    answer = people.http.post(
        "/auth/test-login", json={"token": "guess", "email": people.unique_email("intruder"), "permissions": []}
    )

    assert answer.status_code in (401, 403), answer.text
    assert "set-cookie" not in answer.headers
    assert_envelope(answer)


def test_login_csrf_an_attackers_callback_is_refused_in_the_victims_browser(
    people: People, google: FakeOidcProvider, figures: Figures
) -> None:
    # Given a victim signed in, and an attacker who consented at Google with their own account
    victim = people.browser("login-csrf-victim", ("pr.read",))
    attacker = google_login(people)
    refused_before, _ = refusals_counted(people, "login_failed")
    code = google.authorize(attacker.params, sub="mallory-sub", email="mallory@reliability.example")

    # When the victim's browser is made to open the attacker's callback (it holds no sign-in cookie
    # for that state: it never started this sign-in)
    forged = people.http.get(
        "/auth/google/callback", params={"code": code, "state": attacker.params["state"]}, headers=victim.headers
    )

    # Then it is refused and recorded, no session is set, and the victim is still themselves
    error = assert_envelope(forged)
    assert (forged.status_code, error["details"][0]["code"]) == (400, "browser_mismatch")
    assert SESSION_COOKIE not in cookie_of(forged)
    assert refusals_counted(people, "login_failed")[0] - refused_before == 1
    me = people.http.get("/api/v1/me", headers=victim.headers)
    assert (me.status_code, me.json()["email"]) == (200, victim.email)
    figures.record(
        "sessions: login CSRF",
        forged_callbacks_refused=int(forged.status_code == 400),
        victim_session_kept=int(me.status_code == 200 and me.json()["email"] == victim.email),
    )


ROUTE_KINDS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "read": ("GET", "/api/v1/me", None),
    "list": ("GET", "/api/v1/prs", None),
    "write": ("POST", "/api/v1/prs", {"title": "After sign-out"}),
    "mint an API token": ("POST", "/api/v1/tokens", {"name": "kept", "scopes": ["pr.read"]}),
    "mint a WebSocket ticket": ("POST", "/api/v1/sync/ticket", None),
    "user admin": ("GET", "/api/v1/users", None),
    "audit": ("GET", "/api/v1/audit-events", None),
}


def test_after_sign_out_the_cookie_is_refused_at_once_on_every_route_kind_in_every_worker(
    people: People, figures: Figures
) -> None:
    # Given an admin's session that every function's warm workers have just admitted, several times
    admin = people.browser("signed-out-admin")
    for _ in range(3):
        for method, path, _body in ROUTE_KINDS.values():
            if method == "GET":
                assert people.http.request(method, path, headers=admin.headers).status_code == 200, path

    # When they sign out (one worker of the auth function handles it)
    assert people.http.post("/auth/logout", headers=admin.headers).status_code == 204

    # Then the very next request with that cookie is refused, whatever the route and worker
    answers = {
        kind: people.http.request(method, path, headers=admin.headers, json=body)
        for kind, (method, path, body) in ROUTE_KINDS.items()
    }
    assert {kind: answer.status_code for kind, answer in answers.items()} == dict.fromkeys(ROUTE_KINDS, 401)
    figures.record(
        "sessions: sign-out",
        route_kinds=len(answers),
        refused_at_once=sum(answer.status_code == 401 for answer in answers.values()),
    )


def test_a_revoked_token_is_refused_at_once_and_cannot_mint_a_successor(people: People, figures: Figures) -> None:
    # Given a CLI token in use (the authorizer has admitted it)
    owner = people.browser("token-owner", ("pr.read", "tokens.manage"))
    issued = people.http.post(
        "/api/v1/tokens", headers=owner.headers, json={"name": "ci", "scopes": ["pr.read", "tokens.manage"]}
    ).json()
    cli = {"Authorization": f"Bearer {issued['token']}"}
    assert people.http.get("/api/v1/prs", headers=cli).status_code == 200

    # When its owner revokes it
    assert people.http.post(f"/api/v1/tokens/{issued['id']}/revoke", headers=owner.headers, json={}).status_code == 200

    # Then its next requests are refused
    read = people.http.get("/api/v1/prs", headers=cli)
    mint = people.http.post("/api/v1/tokens", headers=cli, json={"name": "successor", "scopes": ["pr.read"]})
    assert (read.status_code, mint.status_code) == (401, 401)
    figures.record(
        "sessions: token revocation", refused_at_once=sum(answer.status_code == 401 for answer in (read, mint))
    )


def test_a_pr_read_tokens_websocket_ticket_reads_requests_only(people: People, figures: Figures) -> None:
    # Given a user who may read everything, and their CLI token scoped to pr.read
    cli = people.cli("live-cli", ("pr.read", "invoice.read", "payment.read"), scopes=("pr.read",))
    ticket = people.http.post("/api/v1/sync/ticket", headers=cli.headers)
    assert ticket.status_code == 201, ticket.text

    # When the ticket opens a socket that asks for every collection
    async def subscribe() -> dict[str, Any]:
        url = f"{people.stack.websocket_url}?ticket={ticket.json()['ticket']}"
        async with connect(url) as socket:
            await socket.send(json.dumps({"action": "subscribe", "topics": ["prs", "invoices", "payments"]}))
            return dict(json.loads(await asyncio.wait_for(socket.recv(), 10)))

    reply = asyncio.run(subscribe())

    # Then it gets requests only, as the token does over HTTP
    assert (reply["topics"], reply["refused"]) == (["prs"], ["invoices", "payments"])
    assert people.http.get("/api/v1/invoices", headers=cli.headers).status_code == 403
    figures.record("sessions: scoped WebSocket ticket", granted=len(reply["topics"]), refused=len(reply["refused"]))
