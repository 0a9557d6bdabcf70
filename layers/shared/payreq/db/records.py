"""Rows into typed records: repositories return records (`@record`: dataclasses frozen to the type
checker), never `RowMapping`.

A record class names the columns a caller may read, so mypy sees a misspelt or missing column, and
a query that selects more columns than the record holds still builds it (the extra ones are
ignored), which keeps one record usable by several queries of the same table.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any, dataclass_transform

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from _typeshed import DataclassInstance
    from sqlalchemy.engine import Connection, RowMapping
    from sqlalchemy.sql import Executable


@dataclass_transform(frozen_default=True)
def record[T](cls: type[T]) -> type[T]:
    """Make `cls` a record: a slotted dataclass that the type checker holds frozen.

    Every cold start builds its function's records, and a dataclass compiles each method it
    generates with its own `exec`: a frozen, comparable one (`__init__`, `__setattr__`,
    `__delattr__`, `__eq__`, `__hash__`, `__repr__`) costs about 0.75 ms, a record (`__init__`
    alone) a third of that. A record is read and copied with `dataclasses.replace`, never
    assigned to (mypy refuses it), compared or printed, so it goes without the rest: at run time it
    is mutable, compared by identity and shown as an object."""
    return dataclasses.dataclass(slots=True, eq=False, repr=False, match_args=False)(cls)


@cache
def _field_names(record_type: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(record_type))


def record_of[R: DataclassInstance](record_type: type[R], row: RowMapping | dict[str, Any]) -> R:
    """The record of `row`: each of the record's fields from the column of the same name."""
    return record_type(**{name: row[name] for name in _field_names(record_type)})


def record_or_none[R: DataclassInstance](record_type: type[R], row: RowMapping | dict[str, Any] | None) -> R | None:
    return None if row is None else record_of(record_type, row)


def written[R: DataclassInstance](connection: Connection, statement: Executable, record_type: type[R]) -> R:
    """The one row an INSERT or UPDATE ... RETURNING wrote, as `record_type`."""
    return record_of(record_type, connection.execute(statement).mappings().one())


def records_of[R: DataclassInstance](record_type: type[R], rows: Iterable[RowMapping | dict[str, Any]]) -> list[R]:
    return [record_of(record_type, row) for row in rows]


def columns_of(
    record: DataclassInstance, *, only: Collection[str] | None = None, leaving_out: Collection[str] = ()
) -> dict[str, Any]:
    """A record's fields by name (`only` those, if given; never those `leaving_out`): the values of
    an INSERT or UPDATE of the row it holds, so a field added to the record and its table is written
    with no change to the statement. Shallow, unlike `dataclasses.asdict`: a JSON column's value
    stays as it is, to be written or validated into a response as it is."""
    names = _field_names(type(record)) if only is None else only
    return {name: getattr(record, name) for name in names if name not in leaving_out}
