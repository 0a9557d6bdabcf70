"""pg8000 reads dates, timestamps and JSON as it did, faster; and a statement's columns are the same
whether its description was built afresh or remembered."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from payreq.db import read_connection, transaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT timestamptz '2026-12-02 10:24:49.123456+00'", datetime(2026, 12, 2, 10, 24, 49, 123456, UTC)),
        ("SELECT timestamptz '2026-12-02 10:24:49.1+00'", datetime(2026, 12, 2, 10, 24, 49, 100000, UTC)),
        ("SELECT timestamptz '2026-12-02 10:24:49+00'", datetime(2026, 12, 2, 10, 24, 49, tzinfo=UTC)),
        ("SELECT timestamp '2026-12-02 10:24:49.5'", datetime(2026, 12, 2, 10, 24, 49, 500000)),
        ("SELECT date '2026-02-28'", date(2026, 2, 28)),
        ("SELECT date '0099-01-01'", date(99, 1, 1)),
        # What `fromisoformat` cannot read is left to pg8000's own converters, as before
        ("SELECT timestamptz 'infinity'", "infinity"),
        ("SELECT date '-infinity'", "-infinity"),
        ("SELECT date '0044-03-15 BC'", "0044-03-15 BC"),
        ("SELECT date '10000-01-01'", "10000-01-01"),
    ],
)
def test_dates_and_timestamps_come_back_as_python_values(engine: Engine, sql: str, expected: object) -> None:
    with read_connection(engine) as connection:
        assert connection.scalar(text(sql)) == expected


JSON_DOCUMENT = {
    "payee": "Müller & Söhne, 東京",
    "approvers": ["3b1f0c52-6a8e-4d7e-9d55-1b5b1b0e9a11"],
    "count": 12345678901234567890,
    "rate": 0.1,
    "negative": -2.5e-7,
    "flags": [True, False, None],
    "nested": {"empty": {}, "list": [], "quote": 'say "hi"\n'},
}


@pytest.mark.parametrize("kind", ["json", "jsonb"])
def test_json_columns_come_back_as_the_python_values_json_gives(engine: Engine, kind: str) -> None:
    # Given a document with text in several scripts, a number past 64 bits, floats and nesting
    document = json.dumps(JSON_DOCUMENT)

    # When it is read back from a json or jsonb column
    with read_connection(engine) as connection:
        found = connection.scalar(text(f"SELECT CAST(:document AS {kind})"), {"document": document})

    # Then it is what Python's own parser makes of it, value for value
    assert found == json.loads(document)


def test_a_timestamp_keeps_the_sessions_offset(engine: Engine) -> None:
    # Given a transaction whose session time zone is not UTC
    with transaction(engine) as connection:
        connection.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        # When it reads an instant
        read = connection.scalar(text("SELECT timestamptz '2026-12-02 10:00:00+00'"))

    # Then it is the same instant, with the offset the server wrote
    assert read == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert read.utcoffset() == timedelta(hours=5, minutes=30)


def test_a_statement_run_again_is_described_from_memory_with_the_same_columns(engine: Engine) -> None:
    query = text("SELECT CAST(:n AS int) AS n, now() AS at, 'x'::text AS label")
    with read_connection(engine) as connection:
        raw = connection.connection.dbapi_connection
        # Given a statement that has run once on a connection
        first = connection.execute(query, {"n": 1}).mappings().one()
        described = len(raw._row_descriptions)  # type: ignore[union-attr]

        # When it runs again, and then a statement with other columns
        again = connection.execute(query, {"n": 2}).mappings().one()
        described_again = len(raw._row_descriptions)  # type: ignore[union-attr]
        other = connection.execute(text("SELECT 1 AS one, 2 AS two")).mappings().one()
        described_other = len(raw._row_descriptions)  # type: ignore[union-attr]

    # Then the second run built no description, the other statement its own, and every answer has
    # its statement's columns and values, each decoded as its type
    assert (described_again, described_other) == (described, described + 1)
    assert list(first) == list(again) == ["n", "at", "label"]
    assert (again["n"], again["label"], isinstance(again["at"], datetime)) == (2, "x", True)
    assert dict(other) == {"one": 1, "two": 2}
