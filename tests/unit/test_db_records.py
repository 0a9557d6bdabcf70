"""Rows become typed records by column name, and records the values of the statements that write them."""

from __future__ import annotations

import dataclasses

import pytest

from payreq.db.records import columns_of, record, record_of, record_or_none, records_of


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


@record
class Method:
    id: int
    payee: str
    details: dict[str, str]
    version: int


def test_a_record_gives_every_field_as_a_column_value_and_its_json_as_it_is() -> None:
    # Given a record with a JSON column
    details = {"iban": "DE89 3704 0044 0532 0130 00"}
    method = Method(id=1, payee="Acme", details=details, version=3)
    # When its column values are taken for a statement
    values = columns_of(method)
    # Then every field is there by name, and the JSON value is the record's own (not a copy)
    assert values == {"id": 1, "payee": "Acme", "details": details, "version": 3}
    assert values["details"] is details


def test_a_field_added_to_a_record_is_written_without_naming_it() -> None:
    # Given a record that grew a field after the statement was written
    @record
    class GrownMethod(Method):
        label: str

    # When its values are taken, leaving out what the statement sets itself
    values = columns_of(GrownMethod(id=1, payee="Acme", details={}, version=3, label="main"), leaving_out={"version"})
    # Then the new field is among them, and the left-out one is not
    assert values == {"id": 1, "payee": "Acme", "details": {}, "label": "main"}


def test_only_the_named_fields_are_taken_when_a_statement_copies_part_of_a_record() -> None:
    method = Method(id=1, payee="Acme", details={}, version=3)
    assert columns_of(method, only=("payee", "details")) == {"payee": "Acme", "details": {}}
