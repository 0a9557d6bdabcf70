"""A resource's standard routes (`payreq.http.resources`): registered from its flows, they validate
and document their requests as a hand-written route with the same signature would."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict

from payreq.http.errors import register_error_handlers
from payreq.http.resources import Resource


class Thing(BaseModel):
    id: uuid.UUID
    name: str
    version: int


class NewThing(BaseModel):
    name: str


class ThingChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None


changed: list[Any] = []


def app_with_things() -> APIGatewayHttpResolver:
    router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
    things = Resource(
        router,
        "/things",
        "thing_id",
        Thing,
        lambda _connection, thing_id: Thing(id=thing_id, name="a", version=1),
        read=lambda app, next_middleware: next_middleware(app),
        write=lambda app, next_middleware: next_middleware(app),
    )
    things.create_route("add_thing", "Add a thing", ("request", NewThing), lambda *a, **k: uuid.uuid4())
    things.read_route("get_thing", "A thing")
    things.change_route("change_thing", "Change a thing (If-Match)", ThingChanges, lambda *a, **k: changed.append(a))
    app = APIGatewayHttpResolver(enable_validation=True)
    register_error_handlers(app)
    app.include_router(router)
    return app


def patch(app: APIGatewayHttpResolver, body: str, headers: dict[str, str]) -> dict[str, Any]:
    thing_id = uuid.uuid4()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": f"/things/{thing_id}",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **headers},
        "requestContext": {
            "http": {"method": "PATCH", "path": f"/things/{thing_id}", "sourceIp": "192.0.2.1"},
            "requestId": "r-1",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }
    return app.resolve(event, None)  # type: ignore[arg-type]


def test_registered_routes_are_documented_like_hand_written_ones() -> None:
    # Given a resource whose create, read and change routes are registered from its flows
    paths = app_with_things().get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)["paths"]
    # Then each is documented with its name, its path parameter, its headers and its typed body
    create, read, change = (
        paths["/things"]["post"],
        paths["/things/{thing_id}"]["get"],
        paths["/things/{thing_id}"]["patch"],
    )
    assert create["operationId"] == "add_thing_things_post"
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NewThing"}
    assert read["operationId"] == "get_thing_things__thing_id__get"
    assert [(p["name"], p["in"], p["required"]) for p in read["parameters"]] == [("thing_id", "path", True)]
    assert [(p["name"], p["in"]) for p in change["parameters"]] == [
        ("thing_id", "path"),
        ("if-match", "header"),
        ("idempotency-key", "header"),
    ]
    assert change["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ThingChanges"
    }


def test_a_change_is_validated_and_needs_the_version_it_was_based_on_before_anything_changes() -> None:
    app = app_with_things()
    # When a change names a field the body does not have
    refused = patch(app, json.dumps({"colour": "red"}), {"if-match": '"1"'})
    # Then it is refused as invalid, naming the field
    assert refused["statusCode"] == 422
    assert [detail["field"] for detail in json.loads(refused["body"])["error"]["details"]] == ["colour"]
    # When a valid change comes without If-Match
    unversioned = patch(app, json.dumps({"name": "b"}), {})
    # Then it is refused as needing the version read (428), and no flow ran
    assert unversioned["statusCode"] == 428
    assert changed == []
