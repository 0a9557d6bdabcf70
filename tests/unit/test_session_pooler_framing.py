"""How the bench's proxy follows the server's byte stream (support/session_pooler.py, support/pg_wire.py): it counts the
ReadyForQuery messages it relays whatever sizes the stream arrives in, so that when a client leaves
it knows how many answers the server still owes before the backend can be reset."""

from __future__ import annotations

import pytest

from support.pg_wire import ReadyCounter, message


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 64])
def test_ready_for_query_is_counted_in_a_stream_cut_anywhere(chunk_size: int) -> None:
    # Given a server's answers to two statements: rows (one holding a 'Z' byte), completions, ready
    stream = (
        message(b"1")
        + message(b"2")
        + message(b"D", b"\x00\x01\x00\x00\x00\x01Z")
        + message(b"C", b"SELECT 1\0")
        + message(b"Z", b"I")
        + message(b"E", b"SERROR\0\0")
        + message(b"Z", b"I")
    )
    counter = ReadyCounter()

    # When it arrives cut into chunks of any size
    for start in range(0, len(stream), chunk_size):
        counter.feed(stream[start : start + chunk_size])

    # Then both ReadyForQuery messages are counted, and nothing inside a row is mistaken for one
    assert counter.ready == 2
