"""Optimistic concurrency over HTTP: responses carry `ETag: "<version>"`, updates send `If-Match`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from payreq.errors import BadRequest, PreconditionRequired

if TYPE_CHECKING:
    from payreq.http.guard import HttpScope

# A route parameter that declares If-Match in the OpenAPI document. `expected_version` reads it (and
# answers its absence with 428, which a required parameter would turn into a 422).
IfMatch = Annotated[
    str | None,
    Header(alias="if-match", description='The ETag of the version you read, e.g. "3" (required: 428 without it).'),
]

_ETAG = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(app: HttpScope) -> int:
    """The version an update was based on, from its If-Match header."""
    header = app.current_event.headers.get("if-match")
    if header is None:
        raise PreconditionRequired('Send If-Match with the ETag you read (e.g. If-Match: "3").')
    match = _ETAG.match(header.strip())
    if match is None:
        raise BadRequest('If-Match must be an ETag this API gave you, such as "3".', code="invalid_if_match")
    return int(match.group(1))
