"""Signed-in browsers for the audit API, and audit events made to order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from payreq import settings
from payreq.audit_chain import append_event, stored_json
from support.api_client import ApiClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

TEST_LOGIN_TOKEN = "let-me-in-for-audit-tests"


@pytest.fixture
def sign_in(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ApiClient]:
    """Browsers signed in through test-token login (enabled here, whatever other suites set)."""
    monkeypatch.setenv("AUTH_TEST_LOGIN_TOKEN", TEST_LOGIN_TOKEN)
    monkeypatch.setenv("AUTH_CACHE_SECONDS", "0")
    settings.reset()

    def browser(email: str = "auditor@example.com", permissions: tuple[str, ...] = ("audit.read",)) -> ApiClient:
        signed_in = ApiClient()
        response = signed_in.post(
            "/auth/test-login", json_body={"token": TEST_LOGIN_TOKEN, "email": email, "permissions": list(permissions)}
        )
        assert response.status == 200, response.body
        return signed_in

    return browser


def calling_audit(browser: ApiClient) -> ApiClient:
    """`browser`, for calls to the audit function's routes.

    Transitional: a template-routed ApiClient finds the function itself; the earlier one is told.
    Drop this once tests/support/api_client.py routes by template.yaml everywhere.
    """
    if hasattr(browser, "function"):
        setattr(browser, "function", "audit")  # noqa: B010  # the attribute exists only on the earlier client
    return browser


def audit_event(**fields: Any) -> dict[str, Any]:
    """An event as the writer appends it, with defaults for what a test does not care about."""
    event: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "category": "change",
        "action": "thing.updated",
        "actor_id": None,
        "entity_type": "thing",
        "entity_id": "1",
        "before": None,
        "after": None,
        "request_id": f"req-{uuid.uuid4().hex[:8]}",
        "source_ip": "192.0.2.1",
        "user_agent": "pytest",
    }
    event.update(fields)
    event["before"], event["after"] = stored_json(event["before"]), stored_json(event["after"])
    return event


def append(connection: Connection, **fields: Any) -> dict[str, Any]:
    event = audit_event(**fields)
    link = append_event(connection, event)
    return {**event, "seq": link.seq, "hash": link.hash}


def tamper(engine: Engine, statement: str, **params: object) -> None:
    """What an attacker with the owner's (or a superuser's) rights could do: pause the trigger, rewrite."""
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        connection.execute(text(statement), params)
        connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
