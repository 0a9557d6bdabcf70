"""The events AWS sends a function, and how API Gateway reads what the function answers.

Shapes follow what API Gateway and S3 really send (and what `events/*.json` holds): the HTTP API's
payload format 2.0 (lower-case headers, `cookies` split out, base64 for non-text bodies), its Lambda
authorizer's REQUEST event, the WebSocket API's CONNECT/MESSAGE/DISCONNECT events, and S3
notifications (keys URL-encoded, `+` for spaces). Pure functions, no I/O: unit-tested on their own.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote_plus, unquote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from payreq_local.template import WebSocketApi, WebSocketRoute

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# API Gateway passes these bodies as text; everything else arrives base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/ld+json")
_TEXT_SUFFIXES = ("+json", "+xml")


def new_id() -> str:
    """An id shaped like API Gateway's request and connection ids (`Bz4kZhE5oAMEbXw=`)."""
    return base64.b64encode(os.urandom(11)).decode()


def _request_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{os.urandom(12).hex()}"


@dataclass(frozen=True)
class HttpRequest:
    """What arrived on the socket, before API Gateway reshapes it."""

    method: str
    path: str
    raw_query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    scheme: str = "http"
    port: int = 80
    received_at: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The header's values joined with commas, as API Gateway does; None when absent."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None

    @property
    def host(self) -> str:
        return self.header("host") or "localhost"


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(_TEXT_SUFFIXES)


def encode_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """The event's (body, isBase64Encoded): text for textual content types, base64 otherwise."""
    if not body:
        return None, False
    if _is_text(content_type):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def _query_parameters(raw_query: str) -> dict[str, str] | None:
    joined: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        joined.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in joined.items()} or None


def _v2_headers_and_cookies(request: HttpRequest) -> tuple[dict[str, str], list[str] | None]:
    headers: dict[str, list[str]] = {}
    cookies: list[str] = []
    for key, value in request.headers:
        name = key.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers.setdefault(name, []).append(value)
    joined = {name: ",".join(values) for name, values in headers.items()}
    # API Gateway adds these on the way in.
    joined.setdefault("x-forwarded-for", request.source_ip)
    joined.setdefault("x-forwarded-port", str(request.port))
    joined.setdefault("x-forwarded-proto", request.scheme)
    joined.setdefault("x-amzn-trace-id", _trace_id(request.received_at))
    return joined, cookies or None


def _http_request_context(request: HttpRequest, route_key: str, api_id: str, request_id: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _request_time(request.received_at),
        "timeEpoch": int(request.received_at * 1000),
    }


def http_event(
    request: HttpRequest,
    *,
    route_key: str,
    path_parameters: Mapping[str, str],
    api_id: str,
    request_id: str,
    authorizer_context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event; `authorizer_context` is what the Lambda authorizer returned."""
    event = _with_v2_request({"version": "2.0"}, request, route_key)
    context = _http_request_context(request, route_key, api_id, request_id)
    if authorizer_context is not None:
        context["authorizer"] = {"lambda": dict(authorizer_context)}
    event["requestContext"] = context
    body, is_base64 = encode_body(request.body, request.header("content-type"))
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = is_base64
    return event


def _with_v2_request(start: dict[str, Any], request: HttpRequest, route_key: str) -> dict[str, Any]:
    """`start` followed by the request's part of a payload 2.0 event, in the order API Gateway writes it."""
    headers, cookies = _v2_headers_and_cookies(request)
    event = {**start, "routeKey": route_key, "rawPath": request.path, "rawQueryString": request.raw_query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    return event


def identity_values(sources: Sequence[str], request: HttpRequest) -> list[str] | None:
    """The authorizer's identity source values, or None when one is missing or empty (API Gateway: 401)."""
    values = []
    query = _query_parameters(request.raw_query) or {}
    for source in sources:
        value: str | None = None
        if source.startswith("$request.header."):
            value = request.header(source.removeprefix("$request.header."))
        elif source.startswith("$request.querystring."):
            value = query.get(source.removeprefix("$request.querystring."))
        elif source.startswith("$context."):
            value = {"sourceIp": request.source_ip, "httpMethod": request.method.upper()}.get(
                source.removeprefix("$context.")
            )
        if not value:
            return None
        values.append(value)
    return values


def authorizer_event(
    request: HttpRequest,
    *,
    route_key: str,
    path_parameters: Mapping[str, str],
    api_id: str,
    request_id: str,
    identity: Sequence[str],
) -> dict[str, Any]:
    """The REQUEST event (payload 2.0) API Gateway sends an HTTP API's Lambda authorizer."""
    method, _, route_path = route_key.partition(" ")
    resource = f"{method}{route_path}" if route_path else route_key
    start = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/$default/{resource}",
        "identitySource": list(identity),
    }
    event = _with_v2_request(start, request, route_key)
    event["requestContext"] = _http_request_context(request, route_key, api_id, request_id)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


@dataclass(frozen=True)
class AuthorizerDecision:
    authorized: bool
    context: dict[str, Any]


class InvalidResponse(ValueError):
    """A function answered something API Gateway cannot use (API Gateway then answers 500)."""


def authorizer_decision(result: Any, *, simple_responses: bool) -> AuthorizerDecision:
    """Read a Lambda authorizer's answer: `{"isAuthorized", "context"}`, or an IAM policy."""
    if not isinstance(result, dict):
        raise InvalidResponse(f"authorizer returned {type(result).__name__}, not an object")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise InvalidResponse("authorizer context is not an object")
    if simple_responses:
        if not isinstance(result.get("isAuthorized"), bool):
            raise InvalidResponse("simple authorizer response needs a boolean isAuthorized")
        return AuthorizerDecision(result["isAuthorized"], context)
    statements = (result.get("policyDocument") or {}).get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    effects = {str(statement.get("Effect", "")).lower() for statement in statements}
    return AuthorizerDecision("allow" in effects and "deny" not in effects, context)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Any) -> HttpResponse:
    """API Gateway's reading of a payload 2.0 function result.

    A dict with `statusCode` is a response; anything else that is valid JSON becomes a 200 with
    that JSON as the body, as API Gateway infers it.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise InvalidResponse(f"statusCode {result['statusCode']!r} is not a number") from None
    headers = [(str(key), str(value)) for key, value in (result.get("headers") or {}).items()]
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(key), str(value)) for value in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    if not any(key.lower() == "content-type" for key, _ in headers):
        headers.append(("content-type", "application/json"))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise InvalidResponse("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidResponse("isBase64Encoded body is not base64") from None
    else:
        payload = body.encode()
    return HttpResponse(status, headers, payload)


# ---------------------------------------------------------------------------------- WebSocket


@dataclass(frozen=True)
class Connection:
    """A client connected to the WebSocket API, as the $connect event saw it."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)


def _websocket_context(
    connection: Connection, *, route_key: str, event_type: str, request_id: str, now: float
) -> dict[str, Any]:
    identity = {"sourceIp": connection.source_ip}
    if connection.user_agent:
        identity["userAgent"] = connection.user_agent
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now),
        "messageDirection": "IN",
        "stage": connection.stage,
        "connectedAt": int(connection.connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": identity,
        "requestId": request_id,
        "domainName": connection.domain_name,
        "connectionId": connection.connection_id,
        "apiId": connection.api_id,
    }


def websocket_connect_event(
    connection: Connection,
    *,
    headers: Iterable[tuple[str, str]],
    raw_query: str,
    request_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    multi: dict[str, list[str]] = {}
    for key, value in headers:
        multi.setdefault(key, []).append(value)
    event: dict[str, Any] = {
        "headers": {key: values[-1] for key, values in multi.items()},
        "multiValueHeaders": multi,
    }
    query = parse_qsl(raw_query, keep_blank_values=True)
    if query:
        multi_query: dict[str, list[str]] = {}
        for key, value in query:
            multi_query.setdefault(key, []).append(value)
        event["queryStringParameters"] = {key: values[-1] for key, values in multi_query.items()}
        event["multiValueQueryStringParameters"] = multi_query
    event["requestContext"] = _websocket_context(
        connection, route_key="$connect", event_type="CONNECT", request_id=request_id, now=now or time.time()
    )
    event["isBase64Encoded"] = False
    return event


def websocket_message_event(
    connection: Connection,
    *,
    route_key: str,
    body: str,
    is_base64: bool,
    request_id: str,
    now: float | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    context = _websocket_context(
        connection, route_key=route_key, event_type="MESSAGE", request_id=request_id, now=now or time.time()
    )
    context["messageId"] = message_id or new_id()
    return {"requestContext": context, "body": body, "isBase64Encoded": is_base64}


def websocket_disconnect_event(
    connection: Connection, *, status_code: int, reason: str, request_id: str, now: float | None = None
) -> dict[str, Any]:
    context = _websocket_context(
        connection, route_key="$disconnect", event_type="DISCONNECT", request_id=request_id, now=now or time.time()
    )
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    return {"headers": {"Host": connection.domain_name}, "requestContext": context, "isBase64Encoded": False}


def select_websocket_route(api: WebSocketApi, message: str) -> WebSocketRoute | None:
    """The route a message goes to: the selection expression's value, else `$default`, else none."""
    expression = api.route_selection_expression
    key: Any = None
    if expression.startswith("$request.body."):
        try:
            key = json.loads(message)
            for part in expression.removeprefix("$request.body.").split("."):
                key = key.get(part) if isinstance(key, dict) else None
        except ValueError:
            key = None
    if isinstance(key, str) and key in api.routes and not key.startswith("$"):
        return api.routes[key]
    return api.routes.get("$default")


# ---------------------------------------------------------------------------------------- S3


def s3_key(key: str) -> str:
    """A key as S3 writes it into events: URL-encoded, `+` for spaces, `/` left as it is."""
    return quote_plus(key, safe="/")


def s3_event(record: Mapping[str, Any], *, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """One S3 notification record (as moto queues it) completed to the shape S3 sends Lambda.

    The key is URL-encoded as S3 does it (`+` for spaces, `/` kept; moto also encodes `/`), and
    handlers must decode it.
    """
    s3 = dict(record.get("s3") or {})
    bucket = {**(s3.get("bucket") or {})}
    bucket.setdefault("ownerIdentity", {"principalId": "A3LOCALOWNER"})
    obj = {**(s3.get("object") or {})}
    obj["key"] = s3_key(unquote_plus(str(obj.get("key", ""))))
    obj.setdefault("sequencer", f"{time.time_ns():018X}")
    s3.update({"bucket": bucket, "object": obj})
    s3.setdefault("s3SchemaVersion", "1.0")
    complete = {
        "eventVersion": record.get("eventVersion", "2.1"),
        "eventSource": "aws:s3",
        "awsRegion": record.get("awsRegion", REGION),
        "eventTime": record.get("eventTime")
        or datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": record.get("eventName", "ObjectCreated:Put"),
        "userIdentity": record.get("userIdentity") or {"principalId": "AWS:LOCAL"},
        "requestParameters": record.get("requestParameters") or {"sourceIPAddress": source_ip},
        "responseElements": record.get("responseElements")
        or {"x-amz-request-id": os.urandom(8).hex().upper(), "x-amz-id-2": base64.b64encode(os.urandom(48)).decode()},
        "s3": s3,
    }
    return {"Records": [complete]}


def sqs_event(messages: list[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A batch of received SQS messages, in the shape Lambda's SQS event source delivers it."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": dict(message.get("MessageAttributes") or {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def scheduled_event(rule_arn: str, *, event_id: str, now: float | None = None) -> dict[str, Any]:
    """What EventBridge sends a function on a schedule (`Type: Schedule`)."""
    when = datetime.fromtimestamp(now or time.time(), UTC)
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }
