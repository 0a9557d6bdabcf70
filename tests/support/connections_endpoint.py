"""API Gateway's `@connections` endpoint over real HTTP, for tests: the broadcaster's poster signs
and posts to it exactly as it does to AWS.

Every accepted post is kept per connection id, in arrival order, and every connection closed with
`DELETE`; `answer` (posts) and `close_answer` (closes) let a test decide what API Gateway says
instead (410 Gone, 429 throttled, 403, 500, a slow answer), per connection.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from collections.abc import Callable

PATH = re.compile(r"^/(?P<stage>[^/]+)/@connections/(?P<id>[^/?]+)$")
ERROR_TYPES = {
    403: "ForbiddenException",
    410: "GoneException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
}


@dataclass(frozen=True)
class Answer:
    status: int
    error_type: str | None = None  # x-amzn-ErrorType; the usual one for the status when None


class _Server(ThreadingHTTPServer):
    # Every partition's poster opens up to 32 keep-alive connections at once; socketserver's default
    # backlog of 5 would drop their SYNs, and a retransmitted one comes after the poster's 2 s
    # connect timeout (API Gateway accepts them all).
    request_queue_size = 256


class ConnectionsEndpoint:
    """A running endpoint at `url` (`http://127.0.0.1:<port>/<stage>`); `close()` stops it."""

    def __init__(self, stage: str = "test") -> None:
        self._lock = threading.Lock()
        self._received: defaultdict[str, list[bytes]] = defaultdict(list)
        self._closed: list[str] = []
        self._close_attempts: list[str] = []
        self.authorizations: list[str] = []
        # Return None to accept the post; called from the server's threads.
        self.answer: Callable[[str, bytes], Answer | None] = lambda connection_id, data: None
        self.close_answer: Callable[[str], Answer | None] = lambda connection_id: None
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="connections-endpoint", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{stage}"

    def received(self, connection_id: str) -> list[bytes]:
        with self._lock:
            return list(self._received.get(connection_id, ()))

    def closed(self) -> list[str]:
        """The connections closed with `DELETE @connections/{id}`, in order."""
        with self._lock:
            return list(self._closed)

    def close_attempts(self) -> list[str]:
        """Every `DELETE` received, answered or refused, in order (a retried close is there twice)."""
        with self._lock:
            return list(self._close_attempts)

    def posts(self) -> int:
        with self._lock:
            return sum(len(messages) for messages in self._received.values())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _post(self, connection_id: str, data: bytes, authorization: str) -> Answer:
        answer = self.answer(connection_id, data)
        with self._lock:
            self.authorizations.append(authorization)
            if answer is None:
                self._received[connection_id].append(data)
        return answer or Answer(200)


def _handler(endpoint: ConnectionsEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            matched = PATH.match(self.path)
            if matched is None:
                self._reply(404, "NotFoundException")
                return
            answer = endpoint._post(unquote(matched["id"]), data, self.headers.get("Authorization", ""))
            error_type = answer.error_type or (ERROR_TYPES.get(answer.status) if answer.status >= 400 else None)
            self._reply(answer.status, error_type)

        def do_DELETE(self) -> None:
            matched = PATH.match(self.path)
            if matched is None:
                self._reply(404, "NotFoundException")
                return
            connection_id = unquote(matched["id"])
            answer = endpoint.close_answer(connection_id) or Answer(204)
            with endpoint._lock:
                endpoint._close_attempts.append(connection_id)
                if answer.status < 400:
                    endpoint._closed.append(connection_id)
            self._reply(answer.status, answer.error_type or ERROR_TYPES.get(answer.status))

        def _reply(self, status: int, error_type: str | None) -> None:
            body = b"" if status < 400 else b'{"message":"refused"}'
            self.send_response(status)
            if error_type:
                self.send_header(
                    "x-amzn-ErrorType",
                    f"{error_type}:http://internal.amazon.com/coral/com.amazonaws.gatewayconnections/",
                )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: one line per post would drown the test output

    return Handler
