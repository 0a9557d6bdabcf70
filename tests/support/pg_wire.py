"""PostgreSQL's wire protocol (version 3), as much of it as the bench's proxy speaks
(`session_pooler.py`): building messages, reading whole ones, and following message boundaries in
a byte stream relayed as it comes."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST, PROTOCOL_3 = 80877103, 80877104, 80877102, 196608
# Message types the client sends after which the server owes one ReadyForQuery.
ANSWERED_WITH_READY = frozenset(b"QSF")
TERMINATE = ord("X")


class ProtocolError(Exception):
    """The peer sent something this proxy does not speak (or the server refused a startup)."""


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def query(sql: str) -> bytes:
    return message(b"Q", sql.encode() + b"\0")


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One whole message: its type and its body."""
    header = await reader.readexactly(5)
    (length,) = struct.unpack("!i", header[1:])
    return header[0], await reader.readexactly(length - 4)


@dataclass
class ReadyCounter:
    """Follows the message boundaries of the server's byte stream, fed in chunks of any size, and
    counts its ReadyForQuery messages."""

    ready: int = 0
    _header: bytes = b""
    _skip: int = 0

    def feed(self, data: bytes) -> None:
        position, size = 0, len(data)
        while position < size:
            if self._skip:
                step = min(self._skip, size - position)
                self._skip -= step
                position += step
                continue
            take = min(5 - len(self._header), size - position)
            self._header += data[position : position + take]
            position += take
            if len(self._header) == 5:
                self.ready += self._header[0] == ord("Z")
                self._skip = struct.unpack("!i", self._header[1:])[0] - 4
                self._header = b""
