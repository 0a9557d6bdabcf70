"""Sessions expire and can be revoked; test-token login exists outside production only."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from payreq.db.schema import audit_events, sessions

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient

ROOT = Path(__file__).resolve().parents[3]


def test_test_login_creates_the_user_with_the_permissions_asked_for(
    signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    browser = signed_in("cy@example.com", ("pr.read", "pr.approve"))

    me = browser.get("/api/v1/me").body

    assert (me["email"], me["permissions"]) == ("cy@example.com", ["pr.approve", "pr.read"])
    with engine.connect() as connection:
        actions = connection.scalars(select(audit_events.c.action).order_by(audit_events.c.id)).all()
    assert actions == ["user.created", "test_login"]


def test_test_login_without_permissions_keeps_those_the_user_has(
    signed_in: Callable[..., ApiClient], client: ApiClient
) -> None:
    # Given a user who was granted permissions when first signed in
    signed_in("cy@example.com", ("pr.read", "pr.approve"))

    # When they sign in again by test token without naming any
    again = client.post(
        "/auth/test-login", json_body={"token": os.environ["AUTH_TEST_LOGIN_TOKEN"], "email": "cy@example.com"}
    )

    # Then they keep what they had (as the demo users of `make run` do)
    assert again.status == 200, again.body
    assert client.get("/api/v1/me").body["permissions"] == ["pr.approve", "pr.read"]


def test_a_wrong_test_token_is_refused_and_recorded(client: ApiClient, engine: Engine) -> None:
    response = client.post("/auth/test-login", json_body={"token": "guess", "email": "eve@example.com"})

    assert (response.status, response.error_code) == (401, "unauthenticated")
    with engine.connect() as connection:
        failure = connection.execute(select(audit_events.c.action, audit_events.c.after)).one()
    assert failure.action == "login_failed" and failure.after["reason"] == "bad_token"


def test_test_login_is_absent_when_no_token_is_configured(client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_TEST_LOGIN_TOKEN")

    response = client.post("/auth/test-login", json_body={"token": "anything", "email": "eve@example.com"})

    assert (response.status, response.error_code) == (404, "route_not_found")


def test_the_auth_function_refuses_to_start_in_prod_with_test_login_enabled() -> None:
    # Given a production deployment that someone configured with a test-login token
    env = {**os.environ, "PAYREQ_STAGE": "prod", "AUTH_TEST_LOGIN_TOKEN": "oops"}
    paths = [ROOT / "layers/shared", ROOT / "functions/auth"]

    # When Lambda cold-starts the function
    started = subprocess.run(
        [sys.executable, "-c", "import auth_api.handler"],
        env={**env, "PYTHONPATH": os.pathsep.join(map(str, paths))},
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it does not start, and says why
    assert started.returncode != 0
    assert "must not be set in the prod stage" in started.stderr


@pytest.mark.parametrize("which", ["idle", "absolute"])
def test_an_expired_session_is_refused(which: str, signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    # Given a session that ran out (idle too long, or past its absolute lifetime)
    browser = signed_in()
    column = sessions.c.idle_expires_at if which == "idle" else sessions.c.expires_at
    with engine.begin() as connection:
        connection.execute(update(sessions).values({column: datetime.now(UTC) - timedelta(seconds=1)}))

    response = browser.get("/api/v1/me")

    assert (response.status, response.error_code) == (401, "unauthenticated")
    assert "expired" in response.body["error"]["message"]


def test_using_a_session_slides_its_idle_expiry(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    browser = signed_in()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(
            update(sessions).values(last_seen_at=an_hour_ago, idle_expires_at=an_hour_ago + timedelta(hours=2))
        )

    assert browser.get("/api/v1/me").status == 200

    with engine.connect() as connection:
        idle_expires_at = connection.scalar(select(sessions.c.idle_expires_at))
    assert idle_expires_at is not None
    assert idle_expires_at > datetime.now(UTC) + timedelta(minutes=119)


def test_a_disabled_account_cannot_use_its_session(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    browser = signed_in()
    admin = signed_in("admin@example.com", ("users.admin",))
    me = browser.get("/api/v1/me").body

    changed = admin.patch(
        f"/api/v1/users/{me['id']}", json_body={"isActive": False}, headers={"If-Match": f'"{me["version"]}"'}
    )

    assert changed.status == 200
    response = browser.get("/api/v1/me")
    assert (response.status, response.body["error"]["message"]) == (401, "This account is disabled.")
