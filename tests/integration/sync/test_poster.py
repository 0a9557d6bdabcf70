"""The lean `@connections` poster over real sockets: signed as API Gateway expects, a dropped
keep-alive connection replaced without losing or doubling a post, a silent endpoint a failure."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import pytest

from payreq import connections_poster
from payreq.broadcast import post_all
from payreq.broadcast_plan import Message
from payreq.connections_poster import ConnectionsPoster
from payreq.connections_poster import connections_poster as poster_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.connections_endpoint import ConnectionsEndpoint


def test_posts_are_signed_with_sigv4_for_execute_api(management: ConnectionsEndpoint) -> None:
    # When the broadcaster's poster posts a change
    poster = poster_for(management.url, 4)
    results = post_all(poster, {"Bz1=": [Message(1, b'{"cursor":1}')]}, concurrency=4)

    # Then it arrived, signed by the function's credentials for execute-api in its region
    assert [result.status for _, result in results["Bz1="]] == ["sent"]
    assert management.received("Bz1=") == [b'{"cursor":1}']
    (authorization,) = management.authorizations
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/execute-api/aws4_request" in authorization


class OneAnswerPerConnection:
    """An endpoint that answers one request per connection, then hangs up (as API Gateway does to
    a connection idle too long): a kept-alive connection is dead when reused."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.bodies: list[bytes] = []
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/test"

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with client:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += client.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(body) < length:
                    body += client.recv(65536)
                self.bodies.append(body)
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def hanging_up() -> Iterator[OneAnswerPerConnection]:
    endpoint = OneAnswerPerConnection()
    yield endpoint
    endpoint.close()


def test_a_kept_alive_connection_closed_by_the_server_is_replaced_and_the_post_sent_once(
    hanging_up: OneAnswerPerConnection,
) -> None:
    # Given a poster whose one connection served a post (one invocation) and was then hung up on
    poster = ConnectionsPoster(hanging_up.url, region="us-east-1", credentials=None, concurrency=1)
    post_all(poster, {"Bz1=": [Message(1, b"first")]}, concurrency=1)

    # When the next invocation posts on it
    results = post_all(poster, {"Bz2=": [Message(2, b"second")]}, concurrency=1)

    # Then the post went out on a new connection, once
    assert [result.status for _, result in results["Bz2="]] == ["sent"]
    assert hanging_up.bodies == [b"first", b"second"]
    assert hanging_up.connections == 2


def test_an_endpoint_that_never_answers_is_a_failed_post_not_a_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an endpoint that accepts connections and never answers
    silent = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setattr(connections_poster, "READ_TIMEOUT_SECONDS", 0.3)
    poster = ConnectionsPoster(
        f"http://127.0.0.1:{silent.getsockname()[1]}/test", region="us-east-1", credentials=None, concurrency=2
    )
    try:
        # When a change is posted
        results = post_all(poster, {"Bz1=": [Message(1, b"{}")]}, concurrency=2)
    finally:
        silent.close()

    # Then it failed (a later pass retries it), having waited no longer than the timeout
    assert [result.status for _, result in results["Bz1="]] == ["failed"]
