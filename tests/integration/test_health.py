"""Every function answers its health route through its real handler, database included."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import pytest

from support.events import http_event, response_json

if TYPE_CHECKING:
    from support.lambda_context import FakeLambdaContext

FUNCTIONS = ["pr", "invoice", "payment", "auth", "audit", "sync"]


@pytest.mark.usefixtures("database_url")
@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_reports_itself_healthy(function: str, lambda_context: FakeLambdaContext) -> None:
    handler = importlib.import_module(f"{function}_api.handler")

    response = handler.lambda_handler(http_event("GET", f"/api/v1/health/{function}"), lambda_context)

    assert response["statusCode"] == 200
    assert response_json(response) == {"status": "ok", "function": function, "database": "ok"}


@pytest.mark.parametrize(
    "unreachable",
    ["postgresql://payreq@/payreq?host=/nonexistent/socket/dir", "postgresql://payreq@127.0.0.1:1/payreq"],
    ids=["unix-socket", "tcp"],
)
def test_an_unreachable_database_is_a_503_the_client_may_retry(
    unreachable: str, monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    # Given a database that is not there
    monkeypatch.setenv("DATABASE_URL", unreachable)
    handler = importlib.import_module("pr_api.handler")

    # When a request needs it
    response = handler.lambda_handler(http_event("GET", "/api/v1/health/pr"), lambda_context)

    # Then the client is told to retry, in the envelope
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert response_json(response)["error"]["code"] == "database_unavailable"
