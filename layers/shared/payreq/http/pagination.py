"""Cursor pagination as every list route answers it: `{"items": [...], "nextCursor": "..." | null}`.

A cursor is the sort key of the last item, opaque to clients (URL-safe base64 of JSON), so pages
stay stable while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from payreq.errors import InvalidInput
from payreq.http.models import ApiModel

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page[T](ApiModel):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("The cursor is not valid; use nextCursor from a previous page.") from error
    if not isinstance(key, list):
        raise InvalidInput("The cursor is not valid; use nextCursor from a previous page.")
    return key
