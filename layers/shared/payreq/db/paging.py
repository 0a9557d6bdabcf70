"""Keyset pages in SQL: a query's rows after the sort key of the last row the page before showed.

A page asks one row more than it shows; that row only says whether another page exists. Ties on
the time are broken by id, so a page boundary inside one instant neither repeats nor skips a row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import tuple_

from payreq.db.records import records_of
from payreq.http.pagination import newest_first_page

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable
    from datetime import datetime

    from _typeshed import DataclassInstance
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.engine import Connection, RowMapping


def given(*conditions: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    """A list filter's WHERE: the conditions of the fields it sets (each None where it is unset)."""
    return [condition for condition in conditions if condition is not None]


def newest_first[R: DataclassInstance](
    connection: Connection,
    record_type: type[R],
    query: Select[Any],
    created_at: ColumnElement[datetime],
    row_id: ColumnElement[uuid.UUID],
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    decode: Callable[[RowMapping], dict[str, Any]] | None = None,
) -> tuple[list[R], str | None]:
    """`limit` of `query`'s rows as records, newest first, after the (created_at, id) `after`, and
    the cursor of the next page (None on the last). `decode` turns a row into the record's fields
    where they differ (a JSON column read into records of its own)."""
    query = query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    if after is not None:
        query = query.where(tuple_(created_at, row_id) < tuple_(*after))
    rows, next_cursor = newest_first_page(list(connection.execute(query).mappings()), limit)
    return records_of(record_type, rows if decode is None else map(decode, rows)), next_cursor


def newest_by_seq[R: DataclassInstance](
    connection: Connection,
    record_type: type[R],
    query: Select[Any],
    seq: ColumnElement[int],
    *,
    limit: int,
    before: int | None,
) -> list[R]:
    """`limit` of `query`'s rows as records, highest `seq` first, each below `before` when given."""
    if before is not None:
        query = query.where(seq < before)
    return records_of(record_type, connection.execute(query.order_by(seq.desc()).limit(limit)).mappings())
