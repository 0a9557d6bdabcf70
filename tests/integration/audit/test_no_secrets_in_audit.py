"""Secrets never reach the audit log: not the test-login token, not a session cookie, not an API token,
not a wrong guess at any of them; and a change's secret-named fields are stored redacted."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from integration.conftest import TEST_LOGIN_TOKEN
from payreq.audit import record_change
from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.schema import audit_events
from payreq.jsonable import REDACTED
from support.api_client import ApiClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine


def audit_log_text(engine: Engine) -> str:
    """Every audit row, every column, as one string to search."""
    with engine.connect() as connection:
        rows = connection.execute(select(audit_events)).mappings().all()
    return json.dumps([{key: value for key, value in row.items() if key != "hash"} for row in rows], default=str)


def test_the_auth_flows_leave_no_secret_in_the_audit_log(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    # Given a user who signs in, issues and uses an API token, revokes it, and signs out
    browser = signed_in("ops@example.com", ("tokens.manage", "users.admin"))
    session_cookie = next(iter(browser.cookies.values()))
    issued = browser.post("/api/v1/tokens", json_body={"name": "ci", "scopes": ["users.admin"]})
    api_token = issued.body["token"]
    assert ApiClient(headers={"Authorization": f"Bearer {api_token}"}).get("/api/v1/users").status == 200
    browser.post(f"/api/v1/tokens/{issued.body['id']}/revoke")
    # ...and someone presents the revoked token, a forged one and a wrong test-login token
    ApiClient(headers={"Authorization": f"Bearer {api_token}"}).get("/api/v1/users")
    forged_token = "pq_" + "A" * 43
    ApiClient(headers={"Authorization": f"Bearer {forged_token}"}).get("/api/v1/users")
    wrong_guess = "wrong-test-login-token-guess"
    ApiClient().post("/auth/test-login", json_body={"token": wrong_guess, "email": "x@example.com"})
    browser.post("/auth/logout")

    # Then all of it is on record...
    logged = audit_log_text(engine)
    for action in ("test_login", "token_issued", "token_revoked", "bad_token", "login_failed", "logout"):
        assert f'"{action}"' in logged, action
    # ...and none of the secrets is
    for secret in (TEST_LOGIN_TOKEN, session_cookie, api_token, forged_token, wrong_guess):
        assert secret not in logged
    # (not even in part: a token's first characters are its public prefix, the rest must not appear)
    assert api_token[12:] not in logged


def test_secret_named_fields_of_a_change_are_stored_redacted(engine: Engine) -> None:
    with transaction(engine) as connection:
        record_change(
            connection,
            RequestContext(request_id="req-1"),
            action="payment_method.updated",
            entity_type="payment_method",
            entity_id="pm-1",
            before={"label": "Main", "details": {"card_number": "4111111111111111", "cvv": "123"}},
            after={"label": "Main card", "details": {"card_number": "4000056655665556", "cvv": "999"}},
        )

    with engine.connect() as connection:
        row = connection.execute(select(audit_events.c.before, audit_events.c.after)).one()
    assert row.before == {"label": "Main", "details": {"card_number": REDACTED, "cvv": REDACTED}}
    assert row.after == {"label": "Main card", "details": {"card_number": REDACTED, "cvv": REDACTED}}
    assert "4111" not in audit_log_text(engine)
