"""Optimistic concurrency over HTTP: responses carry `ETag: "<version>"`, updates send `If-Match`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from payreq.errors import BadRequest, PreconditionRequired

if TYPE_CHECKING:
    from payreq.http.guard import HttpScope

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
