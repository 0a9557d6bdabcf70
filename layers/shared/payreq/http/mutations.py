"""Running a change as one unit of work, honouring `Idempotency-Key`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header

from payreq import idempotency
from payreq.db import get_engine, transaction
from payreq.errors import BadRequest
from payreq.http.guard import request_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

    from payreq.context import RequestContext
    from payreq.http.guard import HttpScope

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

# A route parameter that declares Idempotency-Key in the OpenAPI document, on each route whose change
# runs through `run_change` (which reads the header itself, and answers a malformed key with 400).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        description="Any 1-255 visible ASCII characters, new per intended change (a UUID): a retry with the same "
        "key and body answers the first response (`Idempotent-Replayed: true`) without changing anything again.",
    ),
]


def change_and_respond[Outcome](
    scope: HttpScope,
    act: Callable[[Connection, RequestContext], Outcome],
    respond: Callable[[Connection, Outcome], Response[Any]],
    *,
    engine: Engine | None = None,
) -> Response[Any]:
    """The shape of every route that changes something: the route owns the unit of work, `act`
    (a flow) makes the change as the caller, and `respond` reads the answer from what `act`
    returned, in the same transaction, so the response shows exactly what was committed."""
    context = request_context(scope)

    def change(connection: Connection) -> Response[Any]:
        return respond(connection, act(connection, context))

    return run_change(scope, engine if engine is not None else get_engine(), change)


def run_change(scope: HttpScope, engine: Engine, change: Callable[[Connection], Response[Any]]) -> Response[Any]:
    """Run `change` in a transaction. With an Idempotency-Key, a repeat of a completed request
    answers the stored response (marked `Idempotent-Replayed: true`) without running it again."""
    event = scope.current_event
    key = event.headers.get("idempotency-key")
    with transaction(engine) as connection:
        if key is None:
            return change(connection)
        if not _KEY.match(key):
            raise BadRequest("Idempotency-Key must be 1-255 visible ASCII characters.", code="invalid_idempotency_key")
        user_id = request_context(scope).user_id
        assert user_id is not None, "changes run behind authorize(...)"
        request = idempotency.fingerprint(event.http_method, event.path, event.body or "")
        now = datetime.now(UTC)
        stored = idempotency.claim(connection, user_id=user_id, key=key, request=request, now=now)
        if stored is not None:
            return Response(
                stored.status,
                content_type=content_types.APPLICATION_JSON,
                body=stored.body,
                headers={**stored.headers, "Idempotent-Replayed": "true"},
            )
        response = change(connection)
        if 200 <= response.status_code < 300:
            body = response.body if isinstance(response.body, (dict, list)) else json.loads(response.body or "null")
            headers = {name: value for name, value in (response.headers or {}).items() if isinstance(value, str)}
            idempotency.remember(
                connection,
                user_id=user_id,
                key=key,
                request=request,
                now=now,
                response=idempotency.StoredResponse(response.status_code, headers, body),
            )
        return response
