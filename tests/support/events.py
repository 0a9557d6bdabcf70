"""Real-shaped Lambda events, loaded from `events/*.json` (the same files `sam local invoke -e`
takes) and adjusted per test."""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(_load(name))


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    user_id: uuid.UUID | None = None,
    permissions: tuple[str, ...] = (),
    auth_method: str = "session",
    as_our_frontend: bool = True,
    route_key: str | None = None,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the authorizer's context leaves it.

    `as_our_frontend` adds the X-Requested-With header our pages send (the CSRF proof for
    cookie-authenticated writes); turn it off to play a cross-site request.
    """
    event = load_event("http_get_api_v1_prs")
    context = event["requestContext"]
    context["requestId"] = f"req-{uuid.uuid4().hex[:12]}"
    context["http"]["method"] = method
    context["http"]["path"] = path
    event["rawPath"] = path
    event["routeKey"] = route_key or f"{method} {path}"
    context["routeKey"] = event["routeKey"]
    event["headers"] = {
        "content-type": "application/json",
        **({"x-requested-with": "XMLHttpRequest"} if as_our_frontend else {}),
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    if cookies is not None:
        event["cookies"] = cookies
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = urlencode(query or {})
    if user_id is None:
        context.pop("authorizer", None)
    else:
        context["authorizer"] = {
            "lambda": {"userId": str(user_id), "permissions": " ".join(permissions), "authMethod": auth_method}
        }
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    else:
        event.pop("body", None)
    event["isBase64Encoded"] = False
    return event


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
