"""Pages of the audit log, newest first: the cursor is the `seq` of the last event a page showed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit_api.repository import EventFilter, newest_events
from payreq.db import read_connection
from payreq.errors import InvalidInput, detail
from payreq.http.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine, RowMapping


def check_time_range(occurred_from: datetime | None, occurred_to: datetime | None) -> None:
    if occurred_from is not None and occurred_to is not None and occurred_from >= occurred_to:
        raise InvalidInput(
            "'from' must be earlier than 'to'.", details=[detail("from", "is not earlier than 'to'", "invalid_range")]
        )


def page_of_events(
    engine: Engine, where: EventFilter, *, limit: int, cursor: str | None
) -> tuple[list[RowMapping], str | None]:
    check_time_range(where.occurred_from, where.occurred_to)
    before_seq = _seq_from(cursor)
    with read_connection(engine) as connection:
        rows = newest_events(connection, where, limit=limit + 1, before_seq=before_seq)
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor(rows[-1]["seq"]) if more else None


def _seq_from(cursor: str | None) -> int | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 1 or type(key[0]) is not int:
        raise InvalidInput("The cursor is not valid; use nextCursor from a previous page.")
    return key[0]
