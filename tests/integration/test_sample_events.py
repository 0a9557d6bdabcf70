"""Every file in events/ is one AWS really sends: each one, given to its function's handler
in-process, against a database `payreq seed-demo` filled, gets an answer, never a 500.

The files are what `sam local invoke -e` takes; routes behind the authorizer carry the context
it gives a signed-in demo user, so this also proves they authenticate a seeded user.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from audit_api.settings import anchor_settings
from payreq import aws, settings
from payreq_cli.demo import seed_demo
from payreq_local.event_files import EVENTS_DIR, PARAMETERS, EventFile, event_files
from payreq_local.intrinsics import Resolver
from payreq_local.template import TEMPLATE, load_template, read_application
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine

SAMPLES = {sample.name: sample for sample in event_files()}
APPLICATION = read_application(load_template(TEMPLATE), Resolver(load_template(TEMPLATE), PARAMETERS))
ANCHOR_BUCKET = "payreq-dev-audit-anchors"


def handler_of(sample: EventFile) -> Callable[[dict[str, Any], Any], Any]:
    spec = APPLICATION.functions[sample.function]
    return getattr(importlib.import_module(spec.module), spec.attribute)  # type: ignore[no-any-return]


@pytest.fixture
def deployed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A seeded database, the buckets in moto (with the upload the S3 event names), and the
    variables the template gives the functions."""
    s3_record = json.loads((EVENTS_DIR / "s3_object_created.json").read_text())["Records"][0]["s3"]
    environment = {
        "PAYREQ_ATTACHMENTS_BUCKET": s3_record["bucket"]["name"],
        "AUDIT_ANCHOR_BUCKET": ANCHOR_BUCKET,
        "PAYREQ_WEBSOCKET_MANAGEMENT_URL": "https://m3p8v1zc6b.execute-api.us-east-1.amazonaws.com/dev",
        # The events come from the demo page's origin, and sign in as the local stack lets one.
        "AUTH_ALLOWED_ORIGINS": "http://localhost:3000",
        "AUTH_TEST_LOGIN_TOKEN": "payreq-local",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    anchor_settings.cache_clear()
    seed_demo(engine)
    with mock_aws():
        aws.reset()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=s3_record["bucket"]["name"])
        s3.create_bucket(Bucket=ANCHOR_BUCKET, ObjectLockEnabledForBucket=True)
        s3.put_object(
            Bucket=s3_record["bucket"]["name"], Key=unquote_plus(s3_record["object"]["key"]), Body=b"%PDF-1.4\n%%EOF\n"
        )
        yield s3
        aws.reset()
    anchor_settings.cache_clear()


def rechecked_routes() -> set[str]:
    """Route keys whose guard checks the credential against the database itself
    (`authorize(..., recheck=True)`: minting credentials, user admin). A sample event's authorizer
    context names the demo user but no real session, so these must answer 401."""
    keys = set()
    for spec in APPLICATION.functions.values():
        app = getattr(importlib.import_module(spec.module), "app", None)
        for route in [*getattr(app, "_static_routes", []), *getattr(app, "_dynamic_routes", [])]:
            if any(getattr(middleware, "recheck", False) for middleware in route.middlewares):
                keys.add(_shape(f"{route.method} {route.openapi_path}"))
    return keys


def _shape(route_key: str) -> str:
    """`PATCH /api/v1/users/{userId}` and `PATCH /api/v1/users/{user_id}` alike: parameters unnamed."""
    return re.sub(r"\{[^}]*\}", "{}", route_key)


RECHECKED = rechecked_routes()


def test_routes_that_mint_credentials_recheck_them() -> None:
    assert {
        "POST /api/v1/tokens",
        "POST /api/v1/tokens/{}/revoke",
        "POST /api/v1/sync/ticket",
        "PATCH /api/v1/users/{}",
    } <= RECHECKED


def test_events_has_a_file_for_every_route_and_trigger() -> None:
    on_disk = sorted(path.name for path in EVENTS_DIR.glob("*.json"))

    assert on_disk == sorted(SAMPLES)
    assert len([name for name in on_disk if name.startswith("http_")]) == len(APPLICATION.routes)
    assert APPLICATION.websocket is not None
    assert len([name for name in on_disk if name.startswith("websocket_")]) == len(APPLICATION.websocket.routes)


def test_each_event_is_answered_by_its_handler(deployed: Any) -> None:
    # One database for all of them (seeding per event would take a minute): in file order, as
    # someone trying them one by one with `sam local invoke -e` would.
    problems = {}
    for name, sample in sorted(SAMPLES.items()):
        event = json.loads((EVENTS_DIR / name).read_text())

        result = handler_of(sample)(event, FakeLambdaContext(sample.function))

        problem = _problem(name, event, result)
        if problem:
            problems[name] = problem
    assert problems == {}


def _problem(name: str, event: dict[str, Any], result: Any) -> str | None:
    if name.startswith(("http_", "websocket_")):
        status = result["statusCode"]
        if status >= 500:
            return f"{status}: {result.get('body')}"
        if _shape(str(event.get("routeKey"))) in RECHECKED:
            return None if status == 401 else f"{status}: a credential nobody holds was not re-checked"
        if status == 401 and "authorizer" in event["requestContext"]:
            return "the demo user in the authorizer context was not recognised"
        return None
    if name.startswith("authorizer_"):
        return None if result["isAuthorized"] is True else f"not authorized: {result}"
    return None if isinstance(result, dict) else f"answered {result!r}"
