"""A page of the audit log as one of its lists shows it: audit events, or security events."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from audit_api import listing
from payreq.db import get_engine, read_connection

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from audit_api.records import AuditEventRecord
    from audit_api.repository import EventFilter


def events_page[Shown](
    show: Callable[[AuditEventRecord], Shown],
    where: EventFilter,
    *,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Shown], str | None]:
    """The events `where` finds in the time range, newest first, each as `show` makes it, and the
    cursor of the next page (None on the last)."""
    in_range = dataclasses.replace(where, occurred_from=occurred_from, occurred_to=occurred_to)
    with read_connection(get_engine()) as connection:
        events, next_cursor = listing.page_of_events(connection, in_range, limit=limit, cursor=cursor)
    return [show(event) for event in events], next_cursor
