"""Cookie-authenticated writes need proof of coming from our pages; the authorizer's contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, text

from auth_api import authorizer
from payreq.db.engine import engine_from_url
from payreq.db.schema import audit_events
from payreq_local.template import load_template
from support.events import load_event
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


def test_a_cross_site_cookie_write_is_refused_and_recorded(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    # Given a signed-in browser tricked by another site into posting (no X-Requested-With, foreign Origin)
    browser = signed_in("ops@example.com", ("tokens.manage",))
    browser.headers = {"Origin": "https://evil.example"}

    response = browser.post("/api/v1/tokens", json_body={"name": "stolen", "scopes": ["tokens.manage"]})

    assert (response.status, response.error_code) == (403, "csrf_failed")
    with engine.connect() as connection:
        last = connection.execute(
            select(audit_events.c.action, audit_events.c.after).order_by(audit_events.c.id.desc()).limit(1)
        ).one()
    assert (last.action, last.after["reason"]) == ("access_denied", "csrf")


def test_a_write_from_an_allowed_origin_passes_without_the_header(signed_in: Callable[..., ApiClient]) -> None:
    browser = signed_in("ops@example.com", ("tokens.manage",))
    browser.headers = {"Origin": "https://payreq.example"}

    assert browser.post("/api/v1/tokens", json_body={"name": "ok", "scopes": ["tokens.manage"]}).status == 201


def test_sign_out_is_protected_too(signed_in: Callable[..., ApiClient]) -> None:
    browser = signed_in()
    browser.headers = {}

    assert browser.post("/auth/logout").error_code == "csrf_failed"
    assert browser.get("/api/v1/me").status == 200


@pytest.mark.usefixtures("database_url")
def test_the_authorizer_answers_in_api_gateways_simple_response_format() -> None:
    # An anonymous request: authenticated by no one, refused by no one (the route decides)
    answer = authorizer.lambda_handler(
        load_event("authorizer_request") | {"headers": {}, "cookies": []}, FakeLambdaContext()
    )

    assert answer == {"isAuthorized": True}


def test_the_authorizer_context_is_flat_strings(signed_in: Callable[..., ApiClient]) -> None:
    browser = signed_in("ops@example.com", ("users.admin", "pr.read"))
    request = load_event("authorizer_request") | {
        "headers": {},
        "cookies": [f"{name}={value}" for name, value in browser.cookies.items()],
    }

    answer = authorizer.lambda_handler(request, FakeLambdaContext())

    context = answer["context"]
    assert answer["isAuthorized"] is True
    assert set(context) == {"userId", "permissions", "authMethod", "credentialId"}
    assert all(isinstance(value, str) for value in context.values())
    assert (context["permissions"], context["authMethod"]) == ("pr.read users.admin", "session")


def test_the_template_wires_the_authorizer_for_every_protected_route() -> None:
    template = load_template()
    api = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    config = api["Authorizers"][api["DefaultAuthorizer"]]

    assert (config["AuthorizerPayloadFormatVersion"], config["EnableSimpleResponses"]) == ("2.0", True)
    # The published alias: SnapStart resumes versions, never $LATEST.
    assert config["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
    # Either credential may be missing, so no identity source can be required (API Gateway would
    # answer 401 before asking); the authorizer caches checks itself instead.
    assert config["Identity"] == {"ReauthorizeEvery": 0}


def test_a_session_revoked_by_another_container_is_refused_on_the_next_request(
    signed_in: Callable[..., ApiClient], monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    # Given an authorizer allowed to reuse checks for a minute, and a session it has just admitted
    monkeypatch.setenv("AUTH_CACHE_SECONDS", "60")
    browser = signed_in()
    assert browser.get("/api/v1/me").status == 200

    # When the session is revoked behind its back (another container handled the sign-out)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE sessions SET revoked_at = now()")

    # Then this warm container refuses it on the very next request
    after = browser.get("/api/v1/me")
    assert (after.status, after.error_code) == (401, "unauthenticated")


def test_a_warm_authorizer_whose_connection_died_still_authenticates(
    signed_in: Callable[..., ApiClient], database_url: str
) -> None:
    # Given a warm authorizer (its pooled connection open), and a second browser it has not seen
    def request_of(browser: ApiClient) -> dict[str, object]:
        cookies = [f"{name}={value}" for name, value in browser.cookies.items()]
        return load_event("authorizer_request") | {"headers": {}, "cookies": cookies}

    first, second = signed_in("ops@example.com", ("pr.read",)), signed_in("rita@example.com", ("pr.read",))
    assert authorizer.lambda_handler(request_of(first), FakeLambdaContext())["context"]["authMethod"] == "session"

    # When the proxy drops that connection (a failover, an idle timeout) before the next request
    killer = engine_from_url(database_url)
    try:
        with killer.connect() as connection:
            pids = connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
            ).all()
            assert pids
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        killer.dispose()
    answer = authorizer.lambda_handler(request_of(second), FakeLambdaContext())

    # Then the request is authenticated on a fresh connection, not failed
    assert answer["isAuthorized"] is True
    assert answer["context"]["authMethod"] == "session"
