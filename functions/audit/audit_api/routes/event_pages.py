"""A page of the audit log as one of its lists shows it: audit events, or security events."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import AwareDatetime

from audit_api import listing
from payreq.http.resources import read_page

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from audit_api.records import AuditEventRecord
    from audit_api.repository import EventFilter
    from payreq.http.pagination import Page

# The time range both lists take, as query parameters.
OccurredFrom = Annotated[AwareDatetime | None, Query(alias="from", description="inclusive")]
OccurredTo = Annotated[AwareDatetime | None, Query(alias="to", description="exclusive")]


def events_page[Shown](
    page: type[Page[Shown]],
    show: Callable[[AuditEventRecord], Shown],
    where: EventFilter,
    occurred: tuple[datetime | None, datetime | None],
    *,
    limit: int,
    cursor: str | None,
) -> Page[Shown]:
    """The events `where` finds in the time range `occurred` (from, to), newest first, each as
    `show` makes it, and the cursor of the next page (None on the last)."""
    occurred_from, occurred_to = occurred
    in_range = dataclasses.replace(where, occurred_from=occurred_from, occurred_to=occurred_to)

    def shown(connection: Connection) -> tuple[list[Shown], str | None]:
        events, next_cursor = listing.page_of_events(connection, in_range, limit=limit, cursor=cursor)
        return [show(event) for event in events], next_cursor

    return read_page(page, shown)
