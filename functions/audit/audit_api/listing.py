"""Pages of the audit log, newest first: the cursor is the `seq` of the last event a page showed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit_api.repository import EventFilter, newest_events
from payreq.errors import InvalidInput, detail
from payreq.http.pagination import decode_seq, seq_page

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from audit_api.records import AuditEventRecord


def check_time_range(occurred_from: datetime | None, occurred_to: datetime | None) -> None:
    if occurred_from is not None and occurred_to is not None and occurred_from >= occurred_to:
        raise InvalidInput(
            "'from' must be earlier than 'to'.", details=[detail("from", "is not earlier than 'to'", "invalid_range")]
        )


def page_of_events(
    connection: Connection, where: EventFilter, *, limit: int, cursor: str | None
) -> tuple[list[AuditEventRecord], str | None]:
    check_time_range(where.occurred_from, where.occurred_to)
    return seq_page(newest_events(connection, where, limit=limit + 1, before_seq=decode_seq(cursor)), limit)
