"""pg8000's placeholder rewrite is remembered per statement, and rewrites exactly as pg8000 does."""

from __future__ import annotations

import pg8000.dbapi
import pg8000.legacy
import pytest

from payreq.db.engine import remember_placeholder_rewrites

STATEMENTS = [
    "SELECT * FROM payment_requests WHERE id = %s::UUID",
    "SELECT '%%s is not a placeholder', %s FROM t WHERE note LIKE '%%done' AND x = %s",
    "SELECT \"odd%name\", E'it\\'s %%' FROM t WHERE a = %s -- a comment with %s\n AND b = %s",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_a_remembered_rewrite_is_the_rewrite_pg8000_makes(statement: str) -> None:
    # Given pg8000's own rewrite of a statement
    expected = pg8000.dbapi.convert_paramstyle("format", statement, (1, 2, 3))

    # When the remembered rewrite is asked for it, twice
    remember_placeholder_rewrites()
    first = pg8000.legacy.convert_paramstyle("format", statement, (1, 2, 3))
    second = pg8000.legacy.convert_paramstyle("format", statement, (4, 5, 6))

    # Then the statement is the same and the arguments are each call's own
    assert first == expected
    assert second == (expected[0], (4, 5, 6))


def test_a_statement_is_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a counting scanner in place of pg8000's
    scans: list[str] = []

    def counting_scan(style: str, statement: str, args: object) -> tuple[str, object]:
        scans.append(statement)
        rewritten: tuple[str, object] = pg8000.dbapi.convert_paramstyle(style, statement, args)
        return rewritten

    monkeypatch.setattr(pg8000.legacy, "convert_paramstyle", counting_scan)

    # When the remembering wrapper is installed and one statement runs three times
    remember_placeholder_rewrites()
    for value in (1, 2, 3):
        pg8000.legacy.convert_paramstyle("format", "SELECT %s AS once_only", (value,))

    # Then pg8000 scanned it once
    assert scans == ["SELECT %s AS once_only"]
