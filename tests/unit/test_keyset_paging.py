"""Keyset pages (`payreq.db.paging`): following nextCursor shows every row once, in order."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Uuid, create_engine, insert, select

from payreq.db.paging import given, newest_by_seq, newest_first
from payreq.errors import InvalidInput
from payreq.http.pagination import decode_newest_first, decode_seq, encode_cursor, seq_page

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("seq", Integer, unique=True),
    Column("created_at", DateTime),
    Column("author", String),
)
START = datetime(2026, 12, 1, 9, 0)


@dataclasses.dataclass(frozen=True)
class Note:
    id: uuid.UUID
    seq: int
    created_at: datetime
    author: str


@pytest.fixture
def connection() -> Iterator[Connection]:
    # Given seven notes, four of them written in the same instant (a tie on the sort key)
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    times = [START, START + timedelta(minutes=1)] + [START + timedelta(minutes=2)] * 4 + [START + timedelta(hours=1)]
    with engine.begin() as connection:
        for seq, at in enumerate(times, start=1):
            author = "ann" if seq % 2 else "bob"
            connection.execute(insert(notes).values(id=uuid.uuid4(), seq=seq, created_at=at, author=author))
        yield connection


def every_page(connection: Connection, limit: int, *, author: str | None = None) -> list[list[Note]]:
    pages, cursor = [], None
    while True:
        query = select(notes).where(*given(notes.c.author == author if author else None))
        after = decode_newest_first(cursor)
        page, cursor = newest_first(connection, Note, query, notes.c.created_at, notes.c.id, limit=limit, after=after)
        pages.append(page)
        if cursor is None:
            return pages


def test_following_next_cursor_shows_every_row_once_newest_first_with_ties_broken_by_id(
    connection: Connection,
) -> None:
    # When the notes are read two at a time, each page after the cursor of the one before
    pages = every_page(connection, limit=2)
    # Then the pages hold every note once, newest first and, within one instant, highest id first
    shown = [note for page in pages for note in page]
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert len({note.id for note in shown}) == 7
    assert shown == sorted(shown, key=lambda note: (note.created_at, note.id), reverse=True)


def test_a_page_that_ends_exactly_at_the_last_row_says_there_is_no_next_one(connection: Connection) -> None:
    # When a page is as long as what is left
    pages = every_page(connection, limit=7)
    # Then it is the only page: its cursor is None, not a pointer to an empty page
    assert [len(page) for page in pages] == [7]


def test_a_filter_narrows_every_page_and_unset_fields_narrow_nothing(connection: Connection) -> None:
    # When only ann's notes are paged through, and then everyone's
    anns = [note for page in every_page(connection, limit=3, author="ann") for note in page]
    everyone = [note for page in every_page(connection, limit=3) for note in page]
    # Then ann's pages hold her four notes only, and an unset author leaves all seven
    assert [note.author for note in anns] == ["ann"] * 4
    assert len(everyone) == 7


def test_pages_by_seq_continue_below_the_cursor_without_repeating(connection: Connection) -> None:
    # When the log is read three at a time by seq, highest first
    seen: list[int] = []
    cursor: str | None = None
    while True:
        found = newest_by_seq(connection, Note, select(notes), notes.c.seq, limit=4, before=decode_seq(cursor))
        page, cursor = seq_page(found, 3)
        seen += [note.seq for note in page]
        if cursor is None:
            break
    # Then every seq shows once, highest first
    assert seen == [7, 6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize("cursor", [encode_cursor("7"), encode_cursor(7, 8), encode_cursor(True), "not base64!"])
def test_a_seq_cursor_that_no_page_gave_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        decode_seq(cursor)
