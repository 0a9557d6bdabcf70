"""A change to the template is served as written, with nothing in local/ touched.

The suite writes a copy of template.yaml with additions (`--template`): a new route to an existing
function, test-only functions (tests/e2e/functions) behind a new Lambda authorizer that caches by
its identity source, and the WebSocket API's integration pointed at a test function. Those test
functions show exactly what the gateway sends and how it treats the answers: API Gateway's 401
and 403, the authorizer's context and cache, payload 2.0 details, timeouts, concurrent workers,
two-way WebSocket routes and the @connections endpoint reached from a test and from a function.
"""

from __future__ import annotations

import asyncio
import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
import yaml
from websockets.asyncio.client import connect

from payreq_local.template import load_template
from support.local_stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_FUNCTIONS = "tests/e2e/functions/"


def _http_event(method: str, path: str, auth: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"ApiId": {"Ref": "HttpApi"}, "Method": method, "Path": path}
    if auth is not None:
        properties["Auth"] = {"Authorizer": auth}
    return {"Type": "HttpApi", "Properties": properties}


def changed_template() -> dict[str, Any]:
    template = load_template()
    resources = template["Resources"]
    # A new route to an existing function (which serves no such path: its 404 envelope comes back).
    resources["PrFunction"]["Properties"]["Events"]["E2eExtra"] = _http_event("GET", "/api/v1/e2e-extra/{id}", "NONE")
    resources["HttpApi"]["Properties"]["Auth"]["Authorizers"]["E2eAuthorizer"] = {
        "FunctionArn": {"Fn::GetAtt": "E2eAuthorizerFunction.Arn"},
        "AuthorizerPayloadFormatVersion": "2.0",
        "EnableSimpleResponses": True,
        "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": 300},
    }
    resources["E2eAuthorizerFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": TEST_FUNCTIONS, "Handler": "e2e_functions.authorizer.lambda_handler"},
    }
    resources["E2eEchoFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": TEST_FUNCTIONS,
            "Handler": "e2e_functions.echo.lambda_handler",
            "Timeout": 2,
            # It may list the attachments bucket and nothing else.
            "Policies": [
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:ListBucket",
                            "Resource": {"Fn::GetAtt": "AttachmentsBucket.Arn"},
                        }
                    ]
                }
            ],
            "Events": {
                "Echo": _http_event("ANY", "/e2e/echo/{id}", "E2eAuthorizer"),
                "Files": _http_event("GET", "/e2e/files/{proxy+}", "NONE"),
                # Behind the template's default authorizer: the real AuthorizerFunction.
                "Protected": _http_event("GET", "/e2e/protected", None),
            },
        },
    }
    resources["E2eWebSocketFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": TEST_FUNCTIONS,
            "Handler": "e2e_functions.websocket.lambda_handler",
            "Policies": [
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "execute-api:ManageConnections",
                            "Resource": {
                                "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                "${WebSocketApi}/${Stage}/*/@connections/*"
                            },
                        }
                    ]
                }
            ],
            "Environment": {
                "Variables": {
                    "PAYREQ_WEBSOCKET_MANAGEMENT_URL": {
                        "Fn::Sub": "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
                    }
                }
            },
        },
    }
    resources["WebSocketIntegration"]["Properties"]["IntegrationUri"] = {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${E2eWebSocketFunction.Arn}/invocations"
    }
    return template


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("changed-template")
    template = folder / "template.yaml"
    template.write_text(yaml.safe_dump(changed_template(), sort_keys=False))
    running = LocalStack.start(
        folder / "postgres", "--template", str(template), "--base-dir", str(REPOSITORY), "--lazy", "--no-seed"
    )
    yield running
    running.stop()


def test_a_route_added_to_the_template_is_served(changed: LocalStack) -> None:
    response = httpx.get(f"{changed.api_url}/api/v1/e2e-extra/7", timeout=30)

    # Routed to PrFunction, whose resolver serves no such path: its own 404 envelope comes back.
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "route_not_found"
    entry = changed.wait_for_invocation(lambda e: e.get("requestId") == response.headers["apigw-requestid"])
    assert (entry["function"], entry["route"]) == ("PrFunction", "GET /api/v1/e2e-extra/{id}")


def test_a_missing_identity_source_is_401_without_calling_the_authorizer(changed: LocalStack) -> None:
    since = changed.latest_seq()

    response = httpx.get(f"{changed.api_url}/e2e/echo/1", timeout=30)

    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert [e for e in changed.invocations(since=since) if e["function"] == "E2eAuthorizerFunction"] == []


def test_a_denying_authorizer_is_403_and_the_route_never_runs(changed: LocalStack) -> None:
    since = changed.latest_seq()

    response = httpx.get(f"{changed.api_url}/e2e/echo/1", headers={"Authorization": "Bearer nope"}, timeout=30)

    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    functions = [e["function"] for e in changed.invocations(since=since)]
    assert "E2eAuthorizerFunction" in functions
    assert "E2eEchoFunction" not in functions


def test_the_authorizers_context_reaches_the_function_and_is_cached_by_identity(changed: LocalStack) -> None:
    since = changed.latest_seq()
    with httpx.Client(base_url=changed.api_url, timeout=30) as client:
        first = client.get("/e2e/echo/1", headers={"Authorization": "Bearer allow-alice"})
        again = client.get("/e2e/echo/2", headers={"Authorization": "Bearer allow-alice"})
        other = client.get("/e2e/echo/3", headers={"Authorization": "Bearer allow-bob"})

    contexts = [r.json()["event"]["requestContext"]["authorizer"]["lambda"]["userId"] for r in (first, again, other)]
    assert contexts == ["alice", "alice", "bob"]
    calls = [e for e in changed.invocations(since=since, source="auth") if e["function"] == "E2eAuthorizerFunction"]
    assert len(calls) == 2  # alice's answer was reused for 300 s (ReauthorizeEvery)


def test_the_real_authorizer_runs_for_routes_behind_the_default_authorizer(changed: LocalStack) -> None:
    since = changed.latest_seq()

    response = httpx.get(f"{changed.api_url}/e2e/protected", timeout=30)

    # The authorizer authenticates and never refuses: with no credential its context names no
    # user, and the route itself decides (the product's routes answer 401 in the error envelope).
    (call,) = changed.invocations(since=since, source="auth")
    assert (call["function"], call["status"]) == ("AuthorizerFunction", "allow")
    assert response.status_code == 200
    context = response.json()["event"]["requestContext"]["authorizer"]["lambda"]
    assert "userId" not in context


def test_the_event_is_api_gateways_payload_2(changed: LocalStack) -> None:
    pdf = b"%PDF-1.7\x00\xff binary"
    response = httpx.post(
        f"{changed.api_url}/e2e/echo/a%20b?tag=x&tag=y&limit=5",
        headers={
            "Authorization": "Bearer allow-carol",
            "Content-Type": "application/pdf",
            "Cookie": "__Host-payreq_session=s1; theme=dark",
            "User-Agent": "payreq-e2e",
        },
        content=pdf,
        timeout=30,
    )

    assert response.status_code == 200, response.text
    assert response.cookies.get("echo") == "1"  # the function's `cookies` became Set-Cookie
    body = response.json()
    event, context = body["event"], body["event"]["requestContext"]
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "ANY /e2e/echo/{id}", "/e2e/echo/a%20b")
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"tag": "x,y", "limit": "5"}
    assert event["cookies"] == ["__Host-payreq_session=s1", "theme=dark"]
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, pdf)
    assert (context["http"]["method"], context["http"]["path"]) == ("POST", "/e2e/echo/a%20b")
    assert (context["http"]["sourceIp"], context["http"]["userAgent"]) == ("127.0.0.1", "payreq-e2e")
    assert context["requestId"] == response.headers["apigw-requestid"] == body["context"]["awsRequestId"]
    assert 0 < body["context"]["remainingMs"] <= 2000
    assert body["environment"]["PAYREQ_STAGE"] == "local"
    # The same endpoint; the start-up output names the loopback host as a browser does (localhost).
    assert body["environment"]["AWS_ENDPOINT_URL_S3"] == changed.s3_url.replace("//localhost:", "//127.0.0.1:")


def test_greedy_paths_and_function_failures(changed: LocalStack) -> None:
    with httpx.Client(base_url=changed.api_url, timeout=30) as client:
        greedy = client.get("/e2e/files/2026/11/invoice.pdf")
        failed = client.get("/e2e/files/x", params={"fail": "1"})
        timed_out = client.get("/e2e/files/x", params={"sleep": "5"})

    assert greedy.json()["event"]["pathParameters"] == {"proxy": "2026/11/invoice.pdf"}
    assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})
    assert (timed_out.status_code, timed_out.json()) == (500, {"message": "Internal Server Error"})
    errors = [e["error"]["errorType"] for e in changed.invocations(function="E2eEchoFunction") if "error" in e]
    assert errors[-2:] == ["RuntimeError", "Sandbox.Timedout"]


def test_a_function_may_call_only_what_its_role_in_the_template_allows(changed: LocalStack) -> None:
    # Given a function whose role may list the attachments bucket and nothing else
    with httpx.Client(base_url=changed.api_url, timeout=30) as client:
        # When it lists that bucket, and then the audit anchor bucket
        allowed = client.get("/e2e/files/x", params={"list": "payreq-local-attachmentsbucket"})
        refused = client.get("/e2e/files/x", params={"list": "payreq-local-auditanchorbucket"})

    # Then the first is answered and the second refused, as AWS would refuse it
    assert (allowed.status_code, allowed.json()) == (200, "listed")
    assert (refused.status_code, refused.json()) == (200, "AccessDenied")


def test_concurrent_invocations_get_their_own_warm_workers(changed: LocalStack) -> None:
    def slow(_: int) -> int:
        response = httpx.get(f"{changed.api_url}/e2e/files/slow", params={"sleep": "0.5"}, timeout=30)
        return int(response.json()["pid"])

    with ThreadPoolExecutor(max_workers=3) as pool:
        pids = set(pool.map(slow, range(3)))

    # One invocation at a time per worker: three at once took three workers (containers).
    assert len(pids) == 3
    assert set(changed.processes()["workers"]["E2eEchoFunction"]) >= pids


def test_websocket_routes_and_the_management_api(changed: LocalStack) -> None:
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=changed.value("PAYREQ_WEBSOCKET_MANAGEMENT_URL"),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    async def conversation() -> tuple[str, list[Any]]:
        async with connect(changed.websocket_url) as socket:
            # A two-way route sends the function's body back
            await socket.send(json.dumps({"action": "ping"}))
            pong = json.loads(await asyncio.wait_for(socket.recv(), 10))
            connection_id = pong["connectionId"]
            # The management API, called here, reaches this open connection
            await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id, Data=b'{"type":"hello"}')
            hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
            # A message with no route of its own goes to $default, whose function calls back
            await socket.send(json.dumps({"action": "callback", "text": "hi"}))
            callback = json.loads(await asyncio.wait_for(socket.recv(), 10))
            described = await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
            # DELETE closes the connection from the server side
            await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
            await asyncio.wait_for(socket.wait_closed(), 10)
            return connection_id, [pong, hello, callback, described["Identity"]["SourceIp"]]

    connection_id, (pong, hello, callback, source_ip) = asyncio.run(conversation())

    assert pong["type"] == "pong"
    assert hello == {"type": "hello"}
    assert callback == {"type": "callback", "text": "hi"}
    assert source_ip == "127.0.0.1"
    changed.wait_for_invocation(lambda e: e.get("connectionId") == connection_id and e["subject"] == "$disconnect")
    routes = [e["subject"] for e in changed.invocations(source="ws") if e.get("connectionId") == connection_id]
    assert routes[0] == "$connect"
    assert sorted(routes[1:]) == ["$default", "$disconnect", "ping"]
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
