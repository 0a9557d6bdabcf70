"""Rows into typed records: repositories return frozen dataclasses, never `RowMapping`.

A record class names the columns a caller may read, so mypy sees a misspelt or missing column, and
a query that selects more columns than the record holds still builds it (the extra ones are
ignored), which keeps one record usable by several queries of the same table.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed import DataclassInstance
    from sqlalchemy.engine import RowMapping


@cache
def _field_names(record_type: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(record_type))


def record_of[R: DataclassInstance](record_type: type[R], row: RowMapping | dict[str, Any]) -> R:
    """The record of `row`: each of the record's fields from the column of the same name."""
    return record_type(**{name: row[name] for name in _field_names(record_type)})


def record_or_none[R: DataclassInstance](record_type: type[R], row: RowMapping | dict[str, Any] | None) -> R | None:
    return None if row is None else record_of(record_type, row)


def records_of[R: DataclassInstance](record_type: type[R], rows: Iterable[RowMapping | dict[str, Any]]) -> list[R]:
    return [record_of(record_type, row) for row in rows]
