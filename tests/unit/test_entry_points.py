"""The non-HTTP entry points accept the events AWS sends them (real-shaped, from events/)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from invoice_api import parser
from payreq import observability
from support.events import load_event
from sync_api import websocket

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pytest

    from support.lambda_context import FakeLambdaContext


def test_the_parser_reads_url_encoded_keys_as_s3_meant_them(lambda_context: FakeLambdaContext) -> None:
    event = load_event("s3_object_created")
    event["Records"][0]["s3"]["object"]["key"] = "uploads/inv-1/March+invoice%2B2026.pdf"

    response = parser.lambda_handler(event, lambda_context)

    assert response == {"received": ["uploads/inv-1/March invoice+2026.pdf"]}


def test_websocket_ping_answers_pong(lambda_context: FakeLambdaContext) -> None:
    response = websocket.lambda_handler(load_event("websocket_ping"), lambda_context)

    assert (response["statusCode"], json.loads(response["body"])) == (200, {"type": "pong"})


class _NoSuchSession:
    """The credential check, answering as it does for a cookie naming no live session."""

    def __init__(self) -> None:
        self.asked_with: list[list[str]] = []

    def context_for(self, request: Mapping[str, Any]) -> dict[str, str]:
        self.asked_with.append(list(request["cookies"]))
        return {"authError": "invalid_session"}


def test_websocket_connections_are_refused_until_they_can_be_authenticated(
    lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a browser's upgrade whose session cookie the credential check does not know
    check = _NoSuchSession()
    monkeypatch.setattr(websocket, "authenticator", lambda: check)
    event = load_event("websocket_connect")

    # When it connects
    response = websocket.lambda_handler(event, lambda_context)

    # Then it is refused, because the cookie it sent was checked and found wanting
    assert response == {"statusCode": 401}
    assert check.asked_with == [[event["headers"]["Cookie"]]]


def test_no_tracer_is_built_outside_lambda() -> None:
    # Building one would import aws-xray-sdk: ~0.7 s of cold start for nothing.
    observability.tracer.cache_clear()
    assert observability.tracer() is None
