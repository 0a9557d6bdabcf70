"""Live sync under test: the WebSocket function, the broadcaster and an `@connections` endpoint
over real HTTP (`support.connections_endpoint`), which the broadcaster's poster signs and posts to
as it does to API Gateway; `Sockets` reads back the JSON messages a browser would have received.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from payreq import connections_poster
from support.connections_endpoint import ConnectionsEndpoint
from support.events import load_event
from support.lambda_context import FakeLambdaContext
from support.team import APPROVER, REQUESTER, Member
from sync_api import broadcaster, websocket

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from support.api_client import ApiClient

ORIGIN = "https://payreq.example"  # AUTH_ALLOWED_ORIGINS in tests/integration/conftest.py


@dataclass
class Sockets:
    """WebSocket clients as API Gateway would present them to the function."""

    backend: ConnectionsEndpoint
    opened: list[str] = field(default_factory=list)

    def connect(
        self,
        browser: ApiClient | None = None,
        *,
        ticket: str | None = None,
        origin: str | None = ORIGIN,
        connection_id: str | None = None,
    ) -> tuple[str, int]:
        connection_id = connection_id or f"c-{uuid.uuid4().hex[:12]}="
        event = load_event("websocket_connect")
        event["requestContext"]["connectionId"] = connection_id
        headers = {"Host": "m3p8v1zc6b.execute-api.us-east-1.amazonaws.com"}
        if origin is not None:
            headers["Origin"] = origin
        if browser is not None and browser.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        event["headers"] = headers
        event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        if ticket is not None:
            event["queryStringParameters"] = {"ticket": ticket}
            event["multiValueQueryStringParameters"] = {"ticket": [ticket]}
        response = websocket.lambda_handler(event, FakeLambdaContext())
        if response["statusCode"] == 200:
            self.opened.append(connection_id)
        return connection_id, response["statusCode"]

    def send(self, connection_id: str, action: str, **body: Any) -> dict[str, Any]:
        event = load_event("websocket_ping")
        event["requestContext"].update(routeKey=action, connectionId=connection_id)
        event["body"] = json.dumps({"action": action, **body})
        response = websocket.lambda_handler(event, FakeLambdaContext())
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])  # type: ignore[no-any-return]

    def disconnect(self, connection_id: str) -> None:
        event = load_event("websocket_disconnect")
        event["requestContext"]["connectionId"] = connection_id
        websocket.lambda_handler(event, FakeLambdaContext())

    def subscribed(self, browser: ApiClient, *topics: str) -> str:
        connection_id, status = self.connect(browser)
        assert status == 200
        reply = self.send(connection_id, "subscribe", topics=list(topics))
        assert reply["type"] == "subscribed" and not reply["refused"], reply
        return connection_id

    def received(self, connection_id: str) -> list[dict[str, Any]]:
        return [json.loads(data) for data in self.backend.received(connection_id)]

    def changes(self, connection_id: str) -> list[dict[str, Any]]:
        return [message for message in self.received(connection_id) if message.get("type") == "change"]


@pytest.fixture
def management(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectionsEndpoint]:
    """An @connections endpoint, with the functions pointed at it (and moto for the other AWS calls)."""
    endpoint = ConnectionsEndpoint()
    monkeypatch.setenv("PAYREQ_WEBSOCKET_MANAGEMENT_URL", endpoint.url)
    connections_poster.connections_poster.cache_clear()
    try:
        with mock_aws():
            yield endpoint
    finally:
        connections_poster.connections_poster.cache_clear()
        endpoint.close()


@pytest.fixture
def sockets(management: ConnectionsEndpoint, database_url: str) -> Sockets:
    websocket.authenticator.cache_clear()
    return Sockets(management)


def sqs_trigger(count: int = 1, partition: int = 0) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "body": json.dumps({"outbox": True, "partition": partition}),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payreq-test-sync",
            }
            for _ in range(count)
        ]
    }


SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def broadcast_now(management: ConnectionsEndpoint) -> Callable[..., dict[str, Any]]:
    def run(event: dict[str, Any] | None = None) -> dict[str, Any]:
        return broadcaster.lambda_handler(event or sqs_trigger(), FakeLambdaContext())

    return run


@dataclass
class Crew:
    """People around one payment request (support.team's Team grows with other issues' needs)."""

    requester: Member
    alice: Member
    bob: Member
    carol: Member  # may read invoices only

    def flow(self) -> list[dict[str, Any]]:
        return [{"name": "Manager", "mode": "anyof", "approvers": [self.alice.id]}]


@pytest.fixture
def team(signed_in: Callable[..., ApiClient]) -> Crew:
    def member(email: str, permissions: tuple[str, ...]) -> Member:
        browser = signed_in(email, permissions)
        return Member(browser, browser.get("/api/v1/me").body["id"])

    return Crew(
        requester=member("rita@example.com", REQUESTER),
        alice=member("alice@example.com", APPROVER),
        bob=member("bob@example.com", APPROVER),
        carol=member("carol@example.com", ("invoice.read",)),
    )
