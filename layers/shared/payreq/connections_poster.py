"""A lean client for API Gateway's `@connections` endpoint: `POST /@connections/{id}`, SigV4-signed.

boto3's `apigatewaymanagementapi` spends about 1.5 ms of CPU per `post_to_connection` (parameter
validation, the event hooks, the endpoint resolver, serialising and parsing a model), and threads
do not overlap under the GIL: 1,000 posts cost 1.5 s of one core however many threads there are.
This poster does only what the call needs: botocore's `SigV4Auth` signs each request (one signer
per endpoint, with the function's credentials), and `concurrency` keep-alive HTTP/1.1 connections
on one asyncio event loop carry the posts (no thread per request, no HTTP library's machinery).
The connections stay open between invocations of a warm container; one found closed when reused
(API Gateway drops idle ones) is replaced, and the post goes again on the new one.

It answers with the HTTP status and API Gateway's error type; what they mean (sent, gone,
throttled, failed) is decided in `payreq.broadcast_plan.verdict`.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from botocore.credentials import Credentials

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 5.0
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """What API Gateway answered: `status` 0 when nothing came back (a timeout, a refused connection)."""

    status: int
    error_type: str = ""


class _Dropped(Exception):
    """The connection closed before an answer began: nothing was processed, the post may go again."""


class HttpConnection:
    """One keep-alive connection to the endpoint; posts one request at a time."""

    def __init__(self, poster: ConnectionsPoster, streams: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self._poster = poster
        self.reader, self.writer = streams
        self.reused = False
        self.usable = True

    async def post(self, connection_id: str, data: bytes) -> Reply:
        request = self._poster.request_bytes(connection_id, data)
        try:
            return await asyncio.wait_for(self._exchange(request), READ_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            self.usable = False
            return Reply(0, type(error).__name__)

    async def _exchange(self, request: bytes) -> Reply:
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, headers = _parse_head(head)
        await self._skip_body(headers)
        if headers.get("connection", "").lower() == "close":
            self.usable = False
        return Reply(status, _error_type(headers.get("x-amzn-errortype", "")))

    async def _skip_body(self, headers: dict[str, str]) -> None:
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:  # a body delimited by the end of the connection: read to the end, then open another
            await self.reader.read()
            self.usable = False

    def close(self) -> None:
        with suppress(Exception):
            self.writer.close()


class ConnectionsPoster:
    """Posts to one WebSocket API stage's `@connections`. Each thread that uses it gets its own
    event loop and connections (a Lambda container has one invocation at a time; tests run several)."""

    def __init__(self, endpoint_url: str, *, region: str, credentials: Credentials | None, concurrency: int) -> None:
        parts = urlsplit(endpoint_url)
        self.secure = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.secure else 80)
        self._host_header = parts.netloc
        self._url = endpoint_url.rstrip("/")
        self._path = parts.path.rstrip("/")
        self.concurrency = concurrency
        # Without credentials (a local endpoint that checks none) requests go unsigned.
        self._signer = _signer_for(endpoint_url, credentials, region) if credentials is not None else None
        self._ssl = _tls_context() if self.secure else None
        self._local = threading.local()

    def run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on this thread's loop (kept between invocations, with its idle connections)."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._local.loop = asyncio.new_event_loop()
            self._local.idle = []
        return loop.run_until_complete(coroutine)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[ConnectionUser]:
        """A connection for one worker's posts: an idle one if there is one, else a new one."""
        user = ConnectionUser(self)
        try:
            yield user
        finally:
            if user.current is not None and user.current.usable:
                self._local.idle.append(user.current)
            elif user.current is not None:
                user.current.close()

    async def open(self) -> HttpConnection:
        idle: list[HttpConnection] = self._local.idle
        while idle:
            reused = idle.pop()
            if not reused.reader.at_eof():
                reused.reused = True
                return reused
            reused.close()
        streams = await asyncio.wait_for(
            asyncio.open_connection(
                self.host, self.port, ssl=self._ssl, server_hostname=self.host if self.secure else None
            ),
            CONNECT_TIMEOUT_SECONDS,
        )
        return HttpConnection(self, streams)

    def request_bytes(self, connection_id: str, data: bytes) -> bytes:
        """The signed HTTP/1.1 request. Connection ids end in `=`: percent-encoded, as boto3 sends them."""
        from botocore.awsrequest import AWSRequest

        path = f"{self._path}/@connections/{quote(connection_id, safe='')}"
        request = AWSRequest(method="POST", url=f"{self._url}/@connections/{quote(connection_id, safe='')}", data=data)
        if self._signer is not None:
            self._signer.add_auth(request)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self._host_header}", f"Content-Length: {len(data)}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "host"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class ConnectionUser:
    """A worker's hold on one connection: posts on it, replacing it when it breaks."""

    def __init__(self, poster: ConnectionsPoster) -> None:
        self._poster = poster
        self.current: HttpConnection | None = None

    async def post(self, connection_id: str, data: bytes) -> Reply:
        for _ in range(2):
            if self.current is None or not self.current.usable:
                if self.current is not None:
                    self.current.close()
                try:
                    self.current = await self._poster.open()
                except (TimeoutError, OSError) as error:
                    self.current = None
                    return Reply(0, type(error).__name__)
            reply = await self.current.post(connection_id, data)
            # A kept-alive connection the server closed meanwhile answers nothing at all: the post
            # never arrived, so it goes again on a new connection (once).
            if reply.status == 0 and self.current.reused and reply.error_type in _DROPPED:
                self.current.reused = False
                continue
            return reply
        return reply


def _tls_context() -> ssl.SSLContext:
    """Verified TLS with the CA bundle botocore itself trusts (certifi's, or its own)."""
    from botocore.httpsession import get_cert_path

    return ssl.create_default_context(cafile=get_cert_path(True))


def _signer_for(endpoint_url: str, credentials: Credentials, region: str) -> Any:
    """botocore's SigV4 signer for `execute-api`, with what is the same for every post computed once.

    `SigV4Auth` works out the host, the query string and the signing key afresh for every request
    (several URL parses and four HMACs: a third of a post's CPU). For one endpoint they never
    change but the key's date, so this signer keeps them; the canonical request, the string to sign
    and the signature are botocore's own (the unit tests compare the two signers' headers)."""
    import hashlib
    import hmac

    from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth
    from botocore.awsrequest import HTTPHeaders

    parts = urlsplit(endpoint_url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    # As botocore's `_host_from_url`: the port only when it is not the scheme's.
    host = parts.hostname or "" if parts.port in (None, default_port) else f"{parts.hostname}:{parts.port}"
    keys: dict[tuple[str, str], bytes] = {}

    def sign(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    class EndpointSigner(SigV4Auth):
        def headers_to_sign(self, request: Any) -> Any:
            headers = HTTPHeaders()
            for name, value in request.headers.items():
                if name.lower() not in SIGNED_HEADERS_BLACKLIST:
                    headers[name.lower()] = value
            if "host" not in headers:
                headers["host"] = host
            return headers

        def canonical_query_string(self, request: Any) -> str:
            return ""  # posts to @connections carry no query string

        def signature(self, string_to_sign: str, request: Any) -> str:
            day, secret = str(request.context["timestamp"][0:8]), str(self.credentials.secret_key)
            key = keys.get((day, secret))
            if key is None:
                key = f"AWS4{secret}".encode()
                for part in (day, region, "execute-api", "aws4_request"):
                    key = sign(key, part)
                keys.clear()
                keys[(day, secret)] = key
            return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    return EndpointSigner(credentials, "execute-api", region)


_DROPPED = frozenset({"IncompleteReadError", "ConnectionResetError", "BrokenPipeError"})


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("response head too large")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _error_type(header: str) -> str:
    # `GoneException:http://internal.amazon.com/coral/...`: the name is what comes before the colon.
    return header.split(":", 1)[0]


def region_of(endpoint_url: str) -> str:
    """The region to sign for: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`'s, else the function's."""
    host = urlsplit(endpoint_url).hostname or ""
    parts = host.split(".")
    if len(parts) > 3 and parts[1] == "execute-api":
        return parts[2]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def connections_poster(endpoint_url: str, concurrency: int = 32) -> ConnectionsPoster:
    """The poster for `endpoint_url`, with the function's credentials (one per container)."""
    import botocore.session

    credentials: Any = botocore.session.get_session().get_credentials()
    return ConnectionsPoster(
        endpoint_url, region=region_of(endpoint_url), credentials=credentials, concurrency=concurrency
    )
