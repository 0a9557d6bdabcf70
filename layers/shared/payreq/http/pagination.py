"""Cursor pagination as every list route answers it: `{"items": [...], "nextCursor": "..." | null}`.

A cursor is the sort key of the last item, opaque to clients (URL-safe base64 of JSON), so pages
stay stable while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from aws_lambda_powertools.event_handler.openapi.params import Query

from payreq.errors import InvalidInput
from payreq.http.models import ApiModel

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_INVALID = "The cursor is not valid; use nextCursor from a previous page."

# The `limit` parameter of every list route: how many items a page shows at most.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


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
        raise InvalidInput(_INVALID) from error
    if not isinstance(key, list):
        raise InvalidInput(_INVALID)
    return key


def decode_newest_first(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) a newest-first page continues after."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        return datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1]))
    except (ValueError, IndexError):
        raise InvalidInput(_INVALID) from None


class Dated(Protocol):
    """A typed record a newest-first page is sorted by."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def created_at(self) -> datetime: ...


def newest_first_page[R: Mapping[Any, Any] | Dated](rows: Sequence[R], limit: int) -> tuple[list[R], str | None]:
    """The page and its nextCursor, from rows (row mappings or typed records) fetched with
    `limit + 1`: the extra row only says that another page exists."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    last = page[-1]
    created_at, row_id = (last["created_at"], last["id"]) if isinstance(last, Mapping) else (last.created_at, last.id)
    return page, encode_cursor(created_at.isoformat(), str(row_id))


def decode_seq(cursor: str | None) -> int | None:
    """The `seq` a page ordered by it, highest first, continues below."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 1 or type(key[0]) is not int:
        raise InvalidInput(_INVALID)
    return key[0]


class Sequenced(Protocol):
    """A typed record a page is sorted by `seq`, highest first."""

    @property
    def seq(self) -> int: ...


def seq_page[R: Sequenced](rows: Sequence[R], limit: int) -> tuple[list[R], str | None]:
    """The page and its nextCursor, from records fetched with `limit + 1`, highest `seq` first."""
    page = list(rows[:limit])
    return page, encode_cursor(page[-1].seq) if len(rows) > limit else None
