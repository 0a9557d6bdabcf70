"""One HTTP POST to a receiver, as the Standard Webhooks sender makes it: to the address
`addresses` allowed (no second DNS lookup), redirects not followed, a short timeout, and at most
`max_bytes` of the answer read."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webhooks_api.addresses import IPAddress, Receiver

USER_AGENT = "Payreq-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to: the status the receiver answered (None when it did not), the time
    it took, and what went wrong, if anything."""

    status: int | None
    latency_ms: int
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@cache
def _tls_context() -> ssl.SSLContext:
    # Built once per container: verifying, with the system's trust store and the receiver's name.
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to `address` while naming `host` in the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to `address`; the certificate is checked against `host` (SNI and Host name it too)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=_tls_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = _tls_context().wrap_socket(raw, server_hostname=self.host)


def post(
    receiver: Receiver,
    address: IPAddress,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    max_bytes: int,
) -> Attempt:
    kind = _PinnedHTTPSConnection if receiver.scheme == "https" else _PinnedHTTPConnection
    connection = kind(receiver.host, receiver.port, str(address), timeout)
    started = time.perf_counter()
    try:
        connection.request(
            "POST",
            receiver.target,
            body=body,
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = connection.getresponse()
        status = response.status
        _drain(response, max_bytes, deadline=started + timeout)
    except (OSError, http.client.HTTPException) as error:
        return Attempt(None, _since(started), f"{type(error).__name__}: {error}"[:500])
    finally:
        connection.close()
    if 300 <= status < 400:
        return Attempt(status, _since(started), "redirects are not followed")
    return Attempt(status, _since(started))


def _drain(response: http.client.HTTPResponse, max_bytes: int, *, deadline: float) -> None:
    """Read (and discard) at most `max_bytes` of the answer, for at most the timeout in all: a
    receiver that streams forever, or a byte at a time, costs nothing more."""
    left = max_bytes
    while left > 0 and time.perf_counter() < deadline:
        chunk = response.read1(min(left, 16 * 1024))
        if not chunk:
            return
        left -= len(chunk)


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
