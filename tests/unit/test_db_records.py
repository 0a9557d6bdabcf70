"""Rows become typed records by column name."""

from __future__ import annotations

import dataclasses

import pytest

from payreq.db.records import record_of, record_or_none, records_of


@dataclasses.dataclass(frozen=True, slots=True)
class Payee:
    id: int
    name: str


def test_a_row_with_more_columns_than_the_record_still_builds_it() -> None:
    # Given a row that also carries a column the record does not name
    row = {"id": 7, "name": "Acme", "internal_note": "x"}
    # When it is read as a record
    payee = record_of(Payee, row)
    # Then the record holds the named columns only
    assert payee == Payee(id=7, name="Acme")


def test_a_row_missing_a_column_the_record_needs_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError, match="name"):
        record_of(Payee, {"id": 7})


def test_no_row_is_no_record_and_many_rows_are_a_list() -> None:
    assert record_or_none(Payee, None) is None
    assert records_of(Payee, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]) == [Payee(1, "a"), Payee(2, "b")]
