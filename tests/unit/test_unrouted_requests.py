"""The HTTP API's $default route: a request no route serves is answered in the error envelope,
404 for a path the API does not have, 405 (with Allow) for a path it has with another method."""

from __future__ import annotations

import json
from typing import Any

import pytest
from unrouted_api import handler
from unrouted_api.route_table import ROUTES_FILE, Route, methods_for

from payreq_local.event_files import EVENTS_DIR, route_table_text
from support.lambda_context import FakeLambdaContext


def unrouted(method: str, path: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    event = json.loads((EVENTS_DIR / "http_default.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    response = handler.lambda_handler(event, FakeLambdaContext("UnroutedFunction"))
    return response["statusCode"], response["headers"], json.loads(response["body"])


def test_a_path_the_api_does_not_have_is_404_in_the_envelope() -> None:
    # When a client asks for a path no route has
    status, _, body = unrouted("GET", "/api/v1/no-such-route")

    # Then it reads the same error shape as every other failure
    assert status == 404
    assert set(body["error"]) == {"code", "message", "details", "timestamp", "requestId"}
    assert (body["error"]["code"], body["error"]["details"]) == ("route_not_found", [])


def test_a_path_the_api_has_with_another_method_is_405_naming_the_methods() -> None:
    # When a client PUTs a payment request (which is read with GET and changed with PATCH)
    status, headers, body = unrouted("PUT", "/api/v1/prs/0b6c2d6e-9f8a-4f4e-9d1e-2f4b7a1c3e5d")

    # Then it is told which methods the path answers
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    assert {"GET", "PATCH"} <= set(headers["Allow"].split(", "))
    assert "PUT" not in headers["Allow"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/files/a/b/c", ["GET"]),
        ("/files", []),
        ("/prs/7", ["GET"]),
        ("/prs/7/approve", []),
        ("/prs/", []),
    ],
)
def test_path_variables_match_as_api_gateway_matches_them(path: str, methods: list[str]) -> None:
    table = (Route("GET", "/files/{proxy+}"), Route("GET", "/prs/{prId}"))

    assert methods_for(path, table) == methods


def test_the_route_table_is_the_templates() -> None:
    assert ROUTES_FILE.read_text() == route_table_text()
