"""Entry point for the WebSocket API's routes: $connect, $disconnect, subscribe, unsubscribe, ping.

Protocol (JSON text frames; API Gateway routes on `action`):

- `$connect` authenticates the browser's session cookie (sent with the upgrade when the API shares
  the site) or, when it cannot, a single-use ticket from `POST /api/v1/sync/ticket` in the query
  string (`?ticket=...`, valid 30 s). A browser's `Origin` must be an allowed origin (a page on
  another site could otherwise open a socket with the user's cookie). Refusals are 401/403, which
  API Gateway turns into a failed handshake.
- `{"action": "subscribe", "topics": ["prs", "pr:<id>", "invoices", "payments"]}` answers
  `{"type": "subscribed", "topics": [...all now subscribed], "refused": [...], "cursor": <n>}`;
  a topic is refused when malformed or when the user may not read its entity. `cursor` is the
  newest change so far: `GET /api/v1/sync/changes?since=<cursor>` after a reconnect lists what
  was missed.
- `{"action": "unsubscribe", "topics": [...]}` answers `{"type": "unsubscribed", "topics": [...]}`.
- `{"action": "ping"}` answers `{"type": "pong"}`.
- The server pushes `{"type": "change", "entity", "id", "version", "op", "at", "eventId",
  "cursor", "seq": {topic: n}}` (see `payreq.broadcast`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent

from payreq import snapstart
from payreq.auth.authenticate import Authenticator
from payreq.auth.live_connections import credential_key
from payreq.context import RequestContext
from payreq.db import get_engine, transaction
from payreq.denials import Denial, record_denial_now
from payreq.edge import viewer_address
from payreq.observability import instrument, logger
from payreq.settings import auth_settings
from sync_api import connections

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from sqlalchemy.engine import Connection

    from sync_api.connections import OpenConnection


@cache
def authenticator() -> Authenticator:
    return Authenticator(get_engine(), auth_settings())


def now() -> datetime:
    return datetime.now(UTC)


def _reply(body: Mapping[str, Any], status: int = 200) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body, separators=(",", ":"))}


def _context(event: APIGatewayWebSocketEvent, user_id: uuid.UUID | None = None) -> RequestContext:
    request = event.request_context
    identity = request.get("identity") or {}
    return RequestContext(
        request_id=str(request.get("requestId", "")),
        user_id=user_id,
        source_ip=viewer_address(identity.get("sourceIp"), event.headers),
        user_agent=identity.get("userAgent"),
    )


def connect(event: APIGatewayWebSocketEvent, connection_id: str) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in event.headers.items()}
    origin = headers.get("origin")
    # Browsers always send Origin on a WebSocket; a client that sends none is not a browser, and
    # holds no ambient cookie a foreign page could borrow.
    if origin is not None and origin not in auth_settings().allowed_origins:
        _deny(event, "origin", {"origin": origin})
        logger.info("WebSocket refused: origin not allowed", extra={"origin": origin})
        return {"statusCode": 403}
    ticket = event.query_string_parameters.get("ticket")
    moment = now()
    try:
        holder, reason = _holder_of(headers, ticket, event, moment)
    except Exception:
        # A browser sees any refused handshake alike; the log says why.
        logger.exception("WebSocket refused: credentials could not be checked")
        return {"statusCode": 401}
    if holder is None:
        _deny(event, reason)
        logger.info("WebSocket refused: no valid credential", extra={"reason": reason})
        return {"statusCode": 401}
    with transaction(get_engine()) as connection:
        connections.register(connection, connection_id, holder, now=moment)
    return {"statusCode": 200}


def _deny(event: APIGatewayWebSocketEvent, reason: str, details: Mapping[str, Any] | None = None) -> None:
    denial = Denial("access_denied", reason, "$connect", {"reason": reason, **(details or {})})
    try:
        record_denial_now(get_engine(), _context(event), denial)
    except Exception:  # no database to record it in: the handshake is refused all the same
        logger.exception("could not record the refused WebSocket connection")


def _holder_of(
    headers: Mapping[str, str], ticket: str | None, event: APIGatewayWebSocketEvent, moment: datetime
) -> tuple[connections.Holder | None, str]:
    if ticket:
        with transaction(get_engine()) as connection:
            return connections.redeem_ticket(connection, ticket, now=moment), "invalid_ticket"
    # The cookie (or a non-browser client's Authorization header), checked as the authorizer does.
    cookies = [part.strip() for part in headers.get("cookie", "").split(";") if part.strip()]
    shim = {"headers": headers, "cookies": cookies, "requestContext": dict(event.request_context)}
    context = authenticator().context_for(shim)
    if "userId" not in context:
        return None, context.get("authError", "unauthenticated")
    holder = connections.Holder(
        uuid.UUID(context["userId"]),
        frozenset(context.get("permissions", "").split()),
        credential_key(context.get("authMethod"), context.get("credentialId")),
    )
    return holder, ""


def _topics(body: Mapping[str, Any]) -> list[str] | None:
    topics = body.get("topics")
    if not isinstance(topics, list) or not topics or not all(isinstance(topic, str) for topic in topics):
        return None
    return list(dict.fromkeys(topics))


def subscribe(connection_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    def add(connection: Connection, current: OpenConnection, requested: list[str], moment: datetime) -> dict[str, Any]:
        # The user's grants today, within the scopes of the credential that opened the socket.
        permissions = connections.permissions_of(connection, current.user_id) & frozenset(current.scopes)
        accepted = [
            topic for topic in requested if connections.TOPIC.match(topic) and connections.readable(topic, permissions)
        ]
        topics = sorted({*current.topics, *accepted})
        if len(topics) > connections.MAX_TOPICS:
            return {"type": "error", "code": "too_many_topics", "message": f"At most {connections.MAX_TOPICS} topics."}
        connections.set_topics(connection, connection_id, topics, now=moment)
        refused = [topic for topic in requested if topic not in accepted]
        return {
            "type": "subscribed",
            "topics": topics,
            "refused": refused,
            "cursor": connections.latest_cursor(connection),
        }

    return _change_topics(connection_id, body, add)


def unsubscribe(connection_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    def remove(
        connection: Connection, current: OpenConnection, requested: list[str], moment: datetime
    ) -> dict[str, Any]:
        topics = sorted(set(current.topics) - set(requested))
        connections.set_topics(connection, connection_id, topics, now=moment)
        return {"type": "unsubscribed", "topics": topics}

    return _change_topics(connection_id, body, remove)


def _change_topics(
    connection_id: str,
    body: Mapping[str, Any],
    change: Callable[[Connection, OpenConnection, list[str], datetime], dict[str, Any]],
) -> dict[str, Any]:
    """Run `change` on the connection's topics, in one transaction, when the frame names topics and
    the connection is still open; answer the client either way."""
    requested = _topics(body)
    if requested is None:
        return _reply({"type": "error", "code": "invalid_topics", "message": "Send topics: a list of topic names."})
    moment = now()
    with transaction(get_engine()) as connection:
        current = connections.find(connection, connection_id, now=moment)
        if current is None:
            return _reply({"type": "error", "code": "not_connected", "message": "Reconnect: this connection expired."})
        return _reply(change(connection, current, requested, moment))


def ping() -> dict[str, Any]:
    # Keeps API Gateway's 10-minute idle timer from closing the socket; no database round trip.
    return _reply({"type": "pong"})


def message_of(event: APIGatewayWebSocketEvent) -> Mapping[str, Any] | None:
    """The frame's JSON object; None when it is not one."""
    try:
        body = event.json_body if event.body else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


snapstart.register()


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = APIGatewayWebSocketEvent(raw_event)
    route, connection_id = event.request_context.route_key, event.request_context.connection_id
    if route == "$connect":
        return connect(event, connection_id)
    if route == "$disconnect":
        with transaction(get_engine()) as connection:
            connections.forget(connection, connection_id)
        return {"statusCode": 200}
    if route == "ping":
        return ping()
    body = message_of(event)
    if body is None:
        return _reply({"type": "error", "code": "invalid_message", "message": "Send a JSON object."})
    if route == "subscribe":
        return subscribe(connection_id, body)
    if route == "unsubscribe":
        return unsubscribe(connection_id, body)
    return _reply({"type": "error", "code": "unknown_action", "message": "Actions: subscribe, unsubscribe, ping."})
