"""The events the local gateway builds have the shapes AWS sends (and events/*.json holds)."""

from __future__ import annotations

import base64
import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, S3Event
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerEventV2
from aws_lambda_powertools.utilities.data_classes.api_gateway_websocket_event import APIGatewayWebSocketEvent

from payreq_local.authorizer import AuthorizerCache
from payreq_local.events import (
    Connection,
    HttpRequest,
    InvalidResponse,
    authorizer_decision,
    authorizer_event,
    http_event,
    http_response,
    identity_values,
    s3_event,
    select_websocket_route,
    websocket_connect_event,
    websocket_disconnect_event,
    websocket_message_event,
)
from payreq_local.template import LambdaAuthorizer, WebSocketApi, WebSocketRoute
from support.events import load_event

REQUEST = HttpRequest(
    method="POST",
    path="/api/v1/prs/42/approve",
    raw_query="expand=steps&tag=a&tag=b",
    headers=[
        ("Host", "127.0.0.1:3000"),
        ("User-Agent", "pytest"),
        ("Content-Type", "application/json"),
        ("Cookie", "__Host-payreq_session=abc; theme=dark"),
        ("Authorization", "Bearer prq_123"),
        ("X-Many", "1"),
        ("X-Many", "2"),
    ],
    body=b'{"comment": "ok"}',
    source_ip="127.0.0.1",
    port=3000,
)


def test_http_event_is_payload_format_2() -> None:
    event = http_event(
        REQUEST,
        route_key="POST /api/v1/prs/{id}/approve",
        path_parameters={"id": "42"},
        api_id="httpapi",
        request_id="req-1",
        authorizer_context={"userId": "u-1", "permissions": "pr.approve"},
    )

    # Same keys as the real event in events/ (plus the ones this request has).
    assert set(load_event("http_authorized_get")) <= set(event) | {"queryStringParameters"}
    assert event["cookies"] == ["__Host-payreq_session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-many"] == "1,2"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["queryStringParameters"] == {"expand": "steps", "tag": "a,b"}
    assert event["rawQueryString"] == "expand=steps&tag=a&tag=b"
    assert event["pathParameters"] == {"id": "42"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"comment": "ok"}', False)
    parsed = APIGatewayProxyEventV2(event)
    assert parsed.request_context.http.method == "POST"
    assert parsed.request_context.http.user_agent == "pytest"
    assert parsed.request_context.request_id == "req-1"
    assert parsed.request_context.authorizer.get_lambda == {"userId": "u-1", "permissions": "pr.approve"}
    assert parsed.json_body == {"comment": "ok"}


def test_binary_bodies_arrive_base64_encoded() -> None:
    upload = HttpRequest(method="PUT", path="/f", headers=[("content-type", "application/pdf")], body=b"%PDF\x00\xff")

    event = http_event(upload, route_key="PUT /f", path_parameters={}, api_id="a", request_id="r")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"%PDF\x00\xff"
    assert "pathParameters" not in event
    assert "queryStringParameters" not in event
    assert "cookies" not in event


def test_authorizer_event_and_identity_sources() -> None:
    sources = ("$request.header.Authorization", "$request.querystring.expand")
    identity = identity_values(sources, REQUEST)
    assert identity == ["Bearer prq_123", "steps"]
    assert identity_values(("$request.header.X-Missing",), REQUEST) is None

    event = authorizer_event(
        REQUEST,
        route_key="POST /api/v1/prs/{id}/approve",
        path_parameters={"id": "42"},
        api_id="httpapi",
        request_id="r",
        identity=identity,
    )

    assert set(load_event("authorizer_request")) <= set(event) | {"pathParameters"}
    parsed = APIGatewayAuthorizerEventV2(event)
    assert parsed.identity_source == ["Bearer prq_123", "steps"]
    assert parsed.route_arn.endswith("httpapi/$default/POST/api/v1/prs/{id}/approve")
    assert parsed.cookies == ["__Host-payreq_session=abc", "theme=dark"]


def test_authorizer_answers() -> None:
    allow = authorizer_decision({"isAuthorized": True, "context": {"userId": "u"}}, simple_responses=True)
    assert (allow.authorized, allow.context) == (True, {"userId": "u"})
    assert not authorizer_decision({"isAuthorized": False}, simple_responses=True).authorized
    policy = {
        "principalId": "u",
        "policyDocument": {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke"}]},
    }
    assert authorizer_decision(policy, simple_responses=False).authorized
    with pytest.raises(InvalidResponse):
        authorizer_decision({"isAuthorized": "yes"}, simple_responses=True)


def test_authorizer_cache_is_keyed_by_identity_and_expires() -> None:
    now = [100.0]
    cache = AuthorizerCache(clock=lambda: now[0])
    cached = LambdaAuthorizer("A", "Fn", ("$request.header.Authorization",), ttl_seconds=300)
    uncached = LambdaAuthorizer("B", "Fn", (), ttl_seconds=300)
    decision = authorizer_decision({"isAuthorized": True}, simple_responses=True)

    cache.put(cached, ["Bearer a"], decision)
    cache.put(uncached, [], decision)

    assert cache.get(cached, ["Bearer a"]) is decision
    assert cache.get(cached, ["Bearer b"]) is None
    assert cache.get(uncached, []) is None
    now[0] += 300
    assert cache.get(cached, ["Bearer a"]) is None


def test_responses_as_api_gateway_reads_them() -> None:
    full = http_response(
        {
            "statusCode": 201,
            "headers": {"Location": "/prs/1", "Content-Type": "application/json"},
            "cookies": ["a=1; Secure", "b=2"],
            "body": '{"id": 1}',
            "isBase64Encoded": False,
        }
    )
    assert full.status == 201
    assert ("set-cookie", "a=1; Secure") in full.headers
    assert ("set-cookie", "b=2") in full.headers
    assert full.body == b'{"id": 1}'

    inferred = http_response({"hello": "world"})
    assert (inferred.status, json.loads(inferred.body)) == (200, {"hello": "world"})
    assert http_response({"statusCode": 200, "body": "AAE=", "isBase64Encoded": True}).body == b"\x00\x01"
    with pytest.raises(InvalidResponse):
        http_response({"statusCode": "teapot"})


CONNECTION = Connection("Bz4nAcQ2IAMCJ4g=", "websocketapi", "local", "127.0.0.1:3000", "127.0.0.1", "pytest")


def test_websocket_events() -> None:
    connect = websocket_connect_event(
        CONNECTION, headers=[("Cookie", "s=1"), ("Host", "127.0.0.1:3000")], raw_query="ticket=t1", request_id="r1"
    )
    message = websocket_message_event(
        CONNECTION, route_key="ping", body='{"action":"ping"}', is_base64=False, request_id="r2"
    )
    disconnect = websocket_disconnect_event(CONNECTION, status_code=1001, reason="Going away", request_id="r3")

    for event, real in (
        (connect, "websocket_connect"),
        (message, "websocket_ping"),
        (disconnect, "websocket_disconnect"),
    ):
        assert set(load_event(real)["requestContext"]) <= set(event["requestContext"]), real
        assert APIGatewayWebSocketEvent(event).request_context.connection_id == CONNECTION.connection_id
    assert connect["requestContext"]["eventType"] == "CONNECT"
    assert connect["queryStringParameters"] == {"ticket": "t1"}
    assert connect["multiValueHeaders"]["Cookie"] == ["s=1"]
    assert message["requestContext"]["routeKey"] == "ping"
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1001


def test_websocket_route_selection_falls_back_to_default() -> None:
    routes = {key: WebSocketRoute(key, "Fn") for key in ("$connect", "$default", "ping")}
    api = WebSocketApi("Ws", "ws", "local", "$request.body.action", routes)

    assert select_websocket_route(api, '{"action": "ping"}') == routes["ping"]
    assert select_websocket_route(api, '{"action": "nope"}') == routes["$default"]
    assert select_websocket_route(api, '{"action": "$connect"}') == routes["$default"]
    assert select_websocket_route(api, "not json") == routes["$default"]
    no_default = WebSocketApi("Ws", "ws", "local", "$request.body.action", {"ping": routes["ping"]})
    assert select_websocket_route(no_default, '{"action": "nope"}') is None


def test_s3_keys_are_url_encoded_as_s3_does() -> None:
    # moto encodes '/' too; S3 keeps it.
    record = {
        "eventName": "ObjectCreated:Post",
        "s3": {"bucket": {"name": "b"}, "object": {"key": "uploads%2Fa+b%2B1.pdf"}},
    }

    event = s3_event(record)

    assert set(load_event("s3_object_created")["Records"][0]) <= set(event["Records"][0])
    assert event["Records"][0]["s3"]["object"]["key"] == "uploads/a+b%2B1.pdf"
    assert next(S3Event(event).records).s3.get_object.key == "uploads/a+b%2B1.pdf"
