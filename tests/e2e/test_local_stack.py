"""The whole system from template.yaml, over real sockets: what is built so far.

The gateway serves every function's health route, refuses a WebSocket the function refuses,
answers @connections for unknown ids as AWS does, and a presigned upload to the S3 endpoint
reaches the parser through the bucket's notification, with the key URL-encoded as S3 sends it.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from payreq_local.environment import LOCAL_PARAMETERS
from payreq_local.intrinsics import Resolver
from payreq_local.template import load_template, read_application

if TYPE_CHECKING:
    from support.local_stack import LocalStack

REPOSITORY = Path(__file__).resolve().parents[2]
APPLICATION = read_application(load_template(), Resolver(load_template(), LOCAL_PARAMETERS), REPOSITORY)
HEALTH_ROUTES = sorted(route.path for route in APPLICATION.routes if route.path.startswith("/api/v1/health/"))


@pytest.mark.parametrize("path", HEALTH_ROUTES)
def test_every_functions_health_route_answers_through_the_gateway(stack: LocalStack, path: str) -> None:
    # Given the stack from the unmodified template.yaml
    # When a function's health route is called over HTTP
    response = httpx.get(f"{stack.api_url}{path}", timeout=30)

    # Then the function answers from its database, and API Gateway's request id comes back
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "function": path.rsplit("/", 1)[1], "database": "ok"}
    request_id = response.headers["apigw-requestid"]
    entry = stack.wait_for_invocation(lambda e: e.get("requestId") == request_id, source="http")
    assert (entry["route"], entry["status"]) == (f"GET {path}", 200)


def test_a_request_no_route_serves_gets_the_error_envelope_from_the_default_route(stack: LocalStack) -> None:
    # When a client asks for a path the API does not have, and for one it has with a wrong method
    missing = httpx.get(f"{stack.api_url}/api/v1/no-such-thing", timeout=30)
    wrong_method = httpx.put(f"{stack.api_url}/api/v1/prs", json={}, timeout=30)

    # Then both come back in the error envelope, from the template's $default route
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "route_not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")
    assert wrong_method.headers["allow"] == "GET, POST"
    # a path with an encoded newline in it too
    odd = httpx.patch(f"{stack.api_url}/api/v1/payment-methods/%0A", json={}, timeout=30)
    assert odd.headers["content-type"].startswith("application/json"), odd.text
    assert "error" in odd.json()
    entry = stack.wait_for_invocation(lambda e: e.get("requestId") == missing.headers["apigw-requestid"])
    assert (entry["function"], entry["route"]) == ("UnroutedFunction", "$default")
    # And the demo page, which no route serves either, is still there
    assert httpx.get(f"{stack.api_url}/", timeout=30).status_code == 200


def test_invocations_are_logged_in_the_terminal(stack: LocalStack) -> None:
    httpx.get(f"{stack.api_url}/api/v1/health/pr", timeout=30).raise_for_status()

    entry = stack.wait_for_invocation(lambda e: e["subject"] == "GET /api/v1/health/pr", function="PrFunction")
    assert entry["durationMs"] > 0
    stack.wait_for_line("HTTP GET /api/v1/health/pr -> PrFunction 200")


def test_websocket_connect_is_routed_to_the_function_which_refuses_it(stack: LocalStack) -> None:
    # Until WebSocket sign-in exists, SyncWebSocketFunction answers $connect with 401
    since = stack.latest_seq()

    async def open_connection() -> None:
        async with connect(stack.websocket_url):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(open_connection())

    assert refused.value.response.status_code == 401
    entry = stack.wait_for_invocation(lambda e: e["seq"] > since and e["subject"] == "$connect", source="ws")
    assert (entry["function"], entry["status"]) == ("SyncWebSocketFunction", 401)


def test_connections_endpoint_answers_gone_for_an_unknown_connection(stack: LocalStack) -> None:
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.value("PAYREQ_WEBSOCKET_MANAGEMENT_URL"),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    with pytest.raises(management.exceptions.GoneException) as gone:
        management.post_to_connection(ConnectionId="Bz4nAcQ2IAMCJ4g=", Data=b"{}")

    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_a_presigned_upload_reaches_the_parser_through_the_bucket_notification(stack: LocalStack) -> None:
    # Given the attachments bucket and a browser-style presigned POST for a key S3 must encode
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.s3_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if "attachmentsbucket" in b["Name"]]
    folder = uuid.uuid4()
    key = f"uploads/{folder}/March invoice+2026.pdf"
    outside = s3.generate_presigned_post(bucket, f"elsewhere/{folder}.pdf")
    upload = s3.generate_presigned_post(bucket, key, Conditions=[["content-length-range", 1, 10_000_000]])

    # When a file outside uploads/ and then one inside it are posted to the S3 endpoint
    for form in (outside, upload):
        response = httpx.post(form["url"], data=form["fields"], files={"file": ("invoice.pdf", b"%PDF-1.7 e2e")})
        assert response.status_code == 204, response.text

    # Then the parser runs for the upload, with the key URL-encoded as S3 sends it, and decodes it
    entry = stack.wait_for_invocation(
        lambda e: str(folder) in e["subject"], source="s3", function="InvoiceParserFunction"
    )
    assert entry["status"] == "ok"
    assert entry["key"] == f"uploads/{folder}/March+invoice%2B2026.pdf"
    assert entry["response"] == {"received": [key]}
    # And the template's prefix filter kept the other file from triggering it
    assert [e for e in stack.invocations(source="s3") if "elsewhere" in e["subject"]] == []


def test_openapi_document_and_swagger_ui(stack: LocalStack) -> None:
    document = httpx.get(f"{stack.api_url}/openapi.json", timeout=60).json()
    page = httpx.get(f"{stack.api_url}/docs", timeout=60)
    script = httpx.get(f"{stack.api_url}/docs/swagger-ui-bundle.min.js", timeout=10)

    assert set(HEALTH_ROUTES) <= set(document["paths"])
    assert document["info"]["title"] == "Payreq API"
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert script.status_code == 200
