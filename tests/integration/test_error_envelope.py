"""Every failure answers with the error envelope, with the status that fits and nothing internal."""

from __future__ import annotations

import base64
import re
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.logging import correlation_paths
from pydantic import Field
from sqlalchemy import select, text

from payreq.db import get_engine, read_connection
from payreq.db.schema import audit_events
from payreq.errors import NotFound
from payreq.http import authorize, create_app
from payreq.http.models import RequestModel
from payreq.observability import instrument
from support.events import http_event, response_json

if TYPE_CHECKING:
    import io

    from sqlalchemy.engine import Engine

    from support.lambda_context import FakeLambdaContext

app = create_app("test")


class WidgetPart(RequestModel):
    unit_price: Decimal


class NewWidget(RequestModel):
    name: str = Field(min_length=1)
    amount: Decimal = Field(gt=0, decimal_places=2)
    parts: list[WidgetPart] = Field(default_factory=list)


@app.post("/api/v1/widgets", middlewares=[authorize("widget.write")])
def create_widget(widget: NewWidget) -> dict[str, Any]:
    return {"name": widget.name}


@app.get("/api/v1/widgets/<widget_id>", middlewares=[authorize("widget.read")])
def get_widget(widget_id: str) -> dict[str, Any]:
    raise NotFound(f"No widget {widget_id}.")


@app.get("/api/v1/explode", middlewares=[authorize("widget.read")])
def explode() -> dict[str, Any]:
    raise RuntimeError("connection string postgresql://app:hunter2@db/payreq")


@app.get("/api/v1/failing-statement", middlewares=[authorize("widget.read")])
def failing_statement() -> dict[str, Any]:
    # A statement PostgreSQL refuses (for a reason other than the value, which its own message would
    # quote), with a value that must never reach a log line.
    with read_connection(get_engine()) as connection:
        connection.execute(text("SELECT CAST(:note AS text) FROM no_such_table"), {"note": CARD_IN_A_NOTE})
    return {}


CARD_IN_A_NOTE = "pay with 4111 1111 1111 1111"


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


USER = uuid.uuid4()
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def call(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = lambda_handler(event, context)
    body = response_json(response)
    error = body["error"]
    assert set(error) == {"code", "message", "details", "timestamp", "requestId"}
    assert ISO_UTC.match(error["timestamp"])
    assert error["requestId"] == event["requestContext"]["requestId"]
    return response["statusCode"], error, response["headers"]


def security_events(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_events).where(audit_events.c.category == "security"))
        return [dict(row) for row in rows.mappings()]


@pytest.mark.usefixtures("database_url")
def test_an_invalid_body_is_422_with_each_bad_field_named(lambda_context: FakeLambdaContext) -> None:
    # Given a caller allowed to create widgets
    event = http_event(
        "POST",
        "/api/v1/widgets",
        body={"name": "", "amount": "-1.5", "parts": [{"unitPrice": "x"}]},
        user_id=USER,
        permissions=("widget.write",),
    )

    # When the body breaks the model's rules
    status, error, _ = call(event, lambda_context)

    # Then the answer lists each field, as the client's camelCase path, and why
    assert (status, error["code"]) == (422, "validation_error")
    assert all(set(detail) == {"field", "message", "code"} for detail in error["details"])
    problems = {detail["field"]: detail for detail in error["details"]}
    assert set(problems) == {"name", "amount", "parts[0].unitPrice"}
    assert problems["amount"]["code"] == "greater_than"
    assert "greater than 0" in problems["amount"]["message"]


@pytest.mark.usefixtures("database_url")
@pytest.mark.parametrize(
    ("body", "encoded"),
    [
        pytest.param("{not json", False, id="malformed"),
        pytest.param(base64.b64encode(b'{"name": "\xff\xfe"}').decode(), True, id="not-utf8"),
        pytest.param("[" * 100_000 + "]" * 100_000, False, id="nested-too-deeply"),
    ],
)
def test_a_body_that_is_not_json_is_400_invalid_json(
    lambda_context: FakeLambdaContext, body: str, encoded: bool
) -> None:
    # Given a body no JSON parser accepts (API Gateway passes a binary body base64-encoded)
    event = http_event("POST", "/api/v1/widgets", raw_body="{}", user_id=USER, permissions=("widget.write",))
    event.update(body=body, isBase64Encoded=encoded)

    # When it is sent
    status, error, _ = call(event, lambda_context)

    # Then it is the client's mistake, said once, with no character position posing as a field
    assert (status, error["code"]) == (400, "invalid_json")
    assert [(detail["field"], detail["code"]) for detail in error["details"]] == [(None, "invalid_json")]


@pytest.mark.usefixtures("database_url")
def test_a_missing_entity_is_404_with_the_domain_message(lambda_context: FakeLambdaContext) -> None:
    event = http_event("GET", "/api/v1/widgets/w-42", user_id=USER, permissions=("widget.read",))

    status, error, _ = call(event, lambda_context)

    assert (status, error["code"], error["message"]) == (404, "not_found", "No widget w-42.")


@pytest.mark.usefixtures("database_url")
def test_an_unknown_route_is_404_in_the_envelope(lambda_context: FakeLambdaContext) -> None:
    status, error, _ = call(http_event("GET", "/api/v1/nothing-here", user_id=USER), lambda_context)

    assert (status, error["code"]) == (404, "route_not_found")


def test_a_missing_permission_is_403_and_recorded_as_a_security_event(
    engine: Engine, lambda_context: FakeLambdaContext
) -> None:
    # Given a signed-in caller who may read widgets but not create them
    event = http_event(
        "POST", "/api/v1/widgets", body={"name": "w", "amount": "1.00"}, user_id=USER, permissions=("widget.read",)
    )

    # When they try to create one
    status, error, _ = call(event, lambda_context)

    # Then they are refused, told which permission is missing, and the denial is in the audit log
    assert (status, error["code"], error["details"]) == (
        403,
        "forbidden",
        [{"field": None, "message": "needs widget.write", "code": "missing_permission"}],
    )
    [denial] = security_events(engine)
    assert (denial["action"], denial["actor_id"]) == ("access_denied", USER)
    assert denial["after"] == {
        "permission": "widget.write",
        "reason": "missing_permission",
        "kind": "missing_permission",
        "route": "POST /api/v1/widgets",
        # The first refusal of its kind this minute from this source goes into the chain; later ones are counted
        "window": denial["after"]["window"],
        "count": 1,
    }
    assert denial["request_id"] == event["requestContext"]["requestId"]


def test_no_authentication_is_401_and_recorded_as_a_security_event(
    engine: Engine, lambda_context: FakeLambdaContext
) -> None:
    # When a request arrives with no authorizer context at all
    status, error, _ = call(http_event("GET", "/api/v1/widgets/w-1"), lambda_context)

    # Then it is refused as unauthenticated, and the attempt is on record
    assert (status, error["code"]) == (401, "unauthenticated")
    [denial] = security_events(engine)
    assert (denial["action"], denial["actor_id"], denial["after"]["reason"]) == (
        "access_denied",
        None,
        "unauthenticated",
    )


@pytest.mark.usefixtures("database_url")
def test_an_unexpected_exception_is_500_without_internals_but_with_the_request_id(
    lambda_context: FakeLambdaContext, captured_logs: io.StringIO
) -> None:
    event = http_event("GET", "/api/v1/explode", user_id=USER, permissions=("widget.read",))

    status, error, _ = call(event, lambda_context)

    # The client learns nothing about the cause...
    assert (status, error["code"]) == (500, "internal_error")
    assert "hunter2" not in str(error) and "RuntimeError" not in str(error)
    assert "request id" in error["message"]
    # ...while the log has the whole story under the same request id
    logged = captured_logs.getvalue()
    assert "RuntimeError" in logged and event["requestContext"]["requestId"] in logged


def test_a_failing_statements_log_line_names_the_statement_but_not_its_values(
    engine: Engine, lambda_context: FakeLambdaContext, captured_logs: io.StringIO
) -> None:
    event = http_event("GET", "/api/v1/failing-statement", user_id=USER, permissions=("widget.read",))

    status, error, _ = call(event, lambda_context)

    assert (status, error["code"]) == (500, "internal_error")
    logged = captured_logs.getvalue()
    assert "no_such_table" in logged and "SQL parameters hidden" in logged
    assert "4111" not in logged
