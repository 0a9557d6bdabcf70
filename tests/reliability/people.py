"""People using the local stack over real HTTP: browsers signed in with test-token login (session
cookie + the CSRF header our pages send) and CLI clients with bearer API tokens; plus the checks
every answer must pass, and a superuser's look into the stack's database for what HTTP cannot show."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import httpx
import psycopg

if TYPE_CHECKING:
    from support.local_stack import LocalStack

# The local stack's TestLoginToken parameter value (payreq_local.environment.LOCAL_PARAMETERS).
TEST_LOGIN_TOKEN = "payreq-local"
SESSION_COOKIE = "__Host-payreq_session"
CSRF_HEADER = {"X-Requested-With": "payreq-reliability"}
ENVELOPE_FIELDS = {"code", "message", "details", "timestamp", "requestId"}
EVERY_PERMISSION = (
    "pr.read",
    "pr.write",
    "pr.approve",
    "flows.manage",
    "invoice.read",
    "invoice.write",
    "invoice.verify",
    "payment.read",
    "payment.write",
    "tokens.manage",
    "users.admin",
    "audit.read",
    "webhooks.manage",
)


@dataclass(frozen=True)
class Person:
    email: str
    id: str
    headers: dict[str, str]  # what their browser or CLI sends with every request
    session: str | None = None


class People:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.api_url, timeout=60)
        self._numbers = itertools.count(1)

    def unique_email(self, role: str) -> str:
        return f"{role}-{next(self._numbers)}@reliability.example"

    def browser(self, role: str = "user", permissions: tuple[str, ...] = EVERY_PERMISSION) -> Person:
        """Test-token login: the session cookie a browser would send back, and our pages' CSRF header."""
        email = self.unique_email(role)
        response = self.http.post(
            "/auth/test-login", json={"token": TEST_LOGIN_TOKEN, "email": email, "permissions": list(permissions)}
        )
        assert response.status_code == 200, response.text
        # A Secure __Host- cookie: httpx keeps it from plain http, a browser on localhost sends it; so by hand.
        session = SimpleCookie(response.headers["set-cookie"])[SESSION_COOKIE].value
        headers = {"Cookie": f"{SESSION_COOKIE}={session}", **CSRF_HEADER}
        return Person(email, response.json()["id"], headers, session)

    def cli(
        self, role: str = "cli", permissions: tuple[str, ...] = EVERY_PERMISSION, scopes: tuple[str, ...] | None = None
    ) -> Person:
        """A bearer API token issued to a fresh user, with `scopes` (default: all their permissions)."""
        owner = self.browser(role, (*permissions, "tokens.manage"))
        issued = self.http.post(
            "/api/v1/tokens",
            headers=owner.headers,
            json={"name": f"{role} token", "scopes": list(scopes or permissions)},
        )
        assert issued.status_code == 201, issued.text
        body = issued.json()
        return Person(owner.email, owner.id, {"Authorization": f"Bearer {body['token']}"}, body["id"])

    def database(self) -> psycopg.Connection[Any]:
        """The stack's PostgreSQL as its superuser, autocommit."""
        return psycopg.connect(self.stack.value("DATABASE_URL"), autocommit=True)


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    """An error answer carries exactly the error envelope (DESIGN.md); its `error` object."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.status_code,
        response.headers.get("content-type"),
        response.text[:300],
    )
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ENVELOPE_FIELDS, body
    details = body["error"]["details"]
    assert isinstance(details, list), body
    assert all(set(detail) == {"field", "message", "code"} for detail in details), body
    return body["error"]  # type: ignore[no-any-return]


def security_events_for(people: People, request_ids: list[str]) -> dict[str, str]:
    """request id → action of the security events recorded for those requests."""
    with people.database() as connection:
        rows = connection.execute(
            "SELECT request_id, action FROM audit_events WHERE request_id = ANY(%s) AND category = 'security'",
            (request_ids,),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def refusals_counted(people: People, action: str = "access_denied") -> tuple[int, int]:
    """(refusals counted so far, security events of that action in the chain): refusals are counted
    per source, kind, route and minute, and only the first of each window (then its total) is
    appended to the chain (`payreq.denials`), so a difference before and after a test accounts for
    every refusal it caused."""
    with people.database() as connection:
        counted = connection.execute(
            "SELECT coalesce(sum(count), 0) FROM denial_windows WHERE action = %s", (action,)
        ).fetchone()
        events = connection.execute(
            "SELECT count(*) FROM audit_events WHERE category = 'security' AND action = %s", (action,)
        ).fetchone()
    assert counted is not None and events is not None
    return int(counted[0]), int(events[0])
