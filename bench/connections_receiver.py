"""`python -m bench.connections_receiver`: an `@connections` endpoint in its own process that
keeps what each connection was sent, so the fan-out bench can check every connection got every
change once and in order, without the receiving side sharing the broadcaster's CPU or GIL.

API Gateway receives posts on its own fleet; here one process on the same machine does, so it is
a bare asyncio protocol (keep-alive HTTP/1.1, nothing parsed but the request line, the
`Content-Length` and the body's `cursor`) to take as little CPU from the poster as it can.

Prints `PORT=<n>` when listening. `POST /<stage>/@connections/<id>` accepts a change message;
`GET /_received` answers `{connection id: [cursor, ...]}` in arrival order; `DELETE /_received`
forgets everything.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from urllib.parse import unquote

received: defaultdict[str, list[int]] = defaultdict(list)
CURSOR = re.compile(rb'"cursor":\s*(\d+)')
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Receiver(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return  # the rest of the body is still on its way
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.answer(head.split(b"\r\n", 1)[0].decode(), body)

    def answer(self, request_line: str, body: bytes) -> None:
        assert self.transport is not None
        method, path, _ = request_line.split(" ", 2)
        if method == "POST" and "/@connections/" in path:
            cursor = CURSOR.search(body)
            received[unquote(path.rsplit("/", 1)[1])].append(int(cursor.group(1)) if cursor else -1)
            self.transport.write(OK)
        elif method == "GET" and path == "/_received":
            listing = json.dumps(received).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            self.transport.write(b"Content-Length: %d\r\n\r\n" % len(listing) + listing)
        elif method == "DELETE" and path == "/_received":
            received.clear()
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


async def serve() -> None:
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", 0, backlog=1024)
    print(f"PORT={server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve())
