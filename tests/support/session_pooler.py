"""A session-pooling proxy in front of the local PostgreSQL: RDS Proxy's part in the deployed path,
for the benchmarks' as-deployed runs (bench/cold.py) and its own tests.

As deployed, functions never reach PostgreSQL directly: RDS Proxy keeps already-open, already-used
server connections and lends one to each client connection. So a new client connection is a
handshake with the proxy, not a new backend process, and its first statements run on a backend
whose catalog caches earlier clients built. The plain relay (`tcp_relay`) gives every client a
fresh backend, which no deploy does; this proxy lends warm ones:

- it answers each client's startup itself: SSL and GSS encryption requests are refused ('N', as
  the as-deployed runs use `sslmode=disable`), then, with `ask_password`, a cleartext password
  request (RDS Proxy's IAM exchange: the client sends its token; the local server trusts, so the
  token is not checked), AuthenticationOk, the lent backend's ParameterStatus messages, a
  BackendKeyData of its own and ReadyForQuery;
- backends are pooled by the client's startup parameters (user, database, ...), so a lent backend
  always started with what this client asked for;
- the client's messages are framed (1-byte type, int32 length) and relayed whole, pipelined
  extended-protocol batches included; the server's bytes pass through, their ReadyForQuery counted;
- when the client leaves (Terminate, which is not forwarded, or EOF, or a broken socket) the
  backend is reset and pooled again: a Sync ends any half-sent extended-protocol batch, `ROLLBACK`
  ends any transaction, and `DISCARD ALL` drops the session's state (settings, prepared statements,
  temporary tables, advisory locks, LISTENs) and keeps what makes a backend warm, its caches.
  RDS Proxy does not document its reset; `DISCARD ALL` is what RDS Data API documents for its
  pooled PostgreSQL connections and PgBouncer's default `server_reset_query`. Only then is the
  client's socket closed, so a client that waits for EOF knows its backend is back in the pool;
- a backend whose reset fails, or that closes while pooled (watched), is closed, never lent again;
- cancel requests are refused (the connection is closed without cancelling anything).

RDS Proxy multiplexes per transaction where nothing pins a session; lending per client session is
the same for what is measured here (each client's statements on a warm backend).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import socket
import struct
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from support.pg_wire import (
    ANSWERED_WITH_READY,
    CANCEL_REQUEST,
    GSSENC_REQUEST,
    PROTOCOL_3,
    SSL_REQUEST,
    TERMINATE,
    ProtocolError,
    ReadyCounter,
    message,
    query,
    read_message,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

# How long a reset, or a wait for a backend on its way back to the pool, may take.
RESET_TIMEOUT_S = 5.0

Key = tuple[tuple[str, str], ...]


@dataclass(eq=False)
class Backend:
    """A pooled server connection and what its startup told us."""

    key: Key
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parameters: dict[str, str]
    pid: int
    lent: int = 0
    # ReadyForQuery messages the server owes: one per Query, Sync or FunctionCall relayed.
    owed: int = 0
    counter: ReadyCounter = field(default_factory=ReadyCounter)
    watcher: asyncio.Task[None] | None = None
    dead: bool = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class PoolerStats:
    """What the pool did: backends opened, lends of an already-used backend, backends discarded."""

    opened: int = 0
    reused: int = 0
    discarded: int = 0


class SessionPooler:
    """The proxy itself; `session_pooler()` runs it on a loop of its own."""

    def __init__(self, unix_socket_path: str, *, ask_password: bool = False) -> None:
        self.unix_socket_path = unix_socket_path
        self.ask_password = ask_password
        self.stats = PoolerStats()
        self._idle: dict[Key, list[Backend]] = defaultdict(list)
        self._backends: set[Backend] = set()
        self._clients: set[asyncio.StreamWriter] = set()
        self._sessions: set[asyncio.Task[None]] = set()
        self._returning: dict[Key, int] = defaultdict(int)
        self._returned = asyncio.Condition()
        self._client_keys = itertools.count(1)

    def idle_pids(self) -> list[int]:
        """The server pids of the backends waiting to be lent (call on the pooler's loop)."""
        return [backend.pid for backends in self._idle.values() for backend in backends]

    async def serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
            session.add_done_callback(self._sessions.discard)
        self._clients.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            parameters = await self._client_startup(reader, writer)
            if parameters is not None:
                await self._session(reader, writer, parameters)
        except (OSError, asyncio.IncompleteReadError, ProtocolError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    async def close(self) -> None:
        """End every session and close every backend, pooled or lent (call on the pooler's loop).
        Sessions end on their own once their sockets close (Python 3.12.1's asyncio logs a
        cancelled client task as an unhandled error, so they are not cancelled); watchers are."""
        for backend in self._backends:
            backend.close()
        for writer in self._clients:
            writer.close()
        sessions = [task for task in self._sessions if not task.done()]
        if sessions:
            await asyncio.wait(sessions, timeout=RESET_TIMEOUT_S)
        watchers = [backend.watcher for backend in self._backends if backend.watcher is not None]
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        self._backends.clear()
        self._idle.clear()

    # ------------------------------------------------------------------ the client's side

    async def _client_startup(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> dict[str, str] | None:
        """The client's startup parameters once it is authenticated; None for a cancel request."""
        while True:
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            (code,) = struct.unpack("!i", body[:4])
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                writer.write(b"N")
                continue
            if code == CANCEL_REQUEST:
                return None
            if code != PROTOCOL_3:
                raise ProtocolError(f"protocol {code >> 16}.{code & 0xFFFF}")
            fields = body[4:].split(b"\0")
            parameters = {fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields) - 2, 2)}
            break
        if self.ask_password:
            writer.write(message(b"R", struct.pack("!i", 3)))  # AuthenticationCleartextPassword
            kind, _ = await read_message(reader)
            if kind != ord("p"):
                raise ProtocolError("expected a password message")
        return parameters

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parameters: dict[str, str]
    ) -> None:
        key: Key = tuple(sorted(parameters.items()))
        try:
            backend = await self._borrow(key)
        except (OSError, ProtocolError, asyncio.IncompleteReadError) as error:
            fields = b"SFATAL\0C08006\0M" + str(error).encode() + b"\0\0"
            writer.write(message(b"E", fields))
            await writer.drain()
            return
        greeting = [message(b"R", struct.pack("!i", 0))]
        greeting += [message(b"S", f"{name}\0{value}\0".encode()) for name, value in backend.parameters.items()]
        greeting += [
            message(b"K", struct.pack("!ii", next(self._client_keys), secrets.randbits(31))),
            message(b"Z", b"I"),
        ]
        writer.write(b"".join(greeting))
        await writer.drain()
        server_alive = await self._relay(reader, writer, backend)
        if server_alive:
            await self._give_back(backend)
        else:
            self._discard(backend)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, backend: Backend) -> bool:
        """Relay until either side leaves; whether the server's side is still there."""
        upstream = asyncio.create_task(self._client_to_server(reader, backend))
        downstream = asyncio.create_task(self._server_to_client(backend, writer))
        done, _ = await asyncio.wait((upstream, downstream), return_when=asyncio.FIRST_COMPLETED)
        for task in (upstream, downstream):
            if task not in done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, asyncio.IncompleteReadError):
                await task
        return downstream not in done

    async def _client_to_server(self, reader: asyncio.StreamReader, backend: Backend) -> None:
        """Whole messages only, those read together sent together; ends at Terminate (not sent) or EOF."""
        pending = b""
        while chunk := await reader.read(65536):
            pending += chunk
            end, terminated = self._complete_messages(pending, backend)
            if end:
                backend.writer.write(pending[:end] if not terminated else pending[: end - 5])
                await backend.writer.drain()
            if terminated:
                return
            pending = pending[end:]

    @staticmethod
    def _complete_messages(data: bytes, backend: Backend) -> tuple[int, bool]:
        """Where the last complete message in `data` ends, and whether it is a Terminate (then it
        is the last one looked at); counts the ReadyForQuery each message makes the server owe."""
        position = 0
        while len(data) - position >= 5:
            kind = data[position]
            (length,) = struct.unpack("!i", data[position + 1 : position + 5])
            if len(data) - position < length + 1:
                break
            position += length + 1
            if kind == TERMINATE:
                return position, True
            backend.owed += kind in ANSWERED_WITH_READY
        return position, False

    @staticmethod
    async def _server_to_client(backend: Backend, writer: asyncio.StreamWriter) -> None:
        while chunk := await backend.reader.read(65536):
            backend.counter.feed(chunk)
            with contextlib.suppress(OSError):  # a client that left is the other task's to see
                writer.write(chunk)
                await writer.drain()

    # ------------------------------------------------------------------ the pool

    async def _borrow(self, key: Key) -> Backend:
        """An idle backend of this key; else one on its way back (its reset takes a round trip or
        two, a new backend several milliseconds); else a new one."""
        async with self._returned:
            if not self._idle[key] and self._returning[key]:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RESET_TIMEOUT_S):
                        await self._returned.wait_for(lambda: bool(self._idle[key]))
            while self._idle[key]:
                backend = self._idle[key].pop()
                if await self._unwatch(backend):
                    self.stats.reused += 1
                    backend.lent += 1
                    return backend
        backend = await self._open(key)
        self.stats.opened += 1
        backend.lent += 1
        return backend

    @staticmethod
    async def _unwatch(backend: Backend) -> bool:
        """Stop watching a pooled backend before it is lent; whether it is still alive."""
        if backend.watcher is not None:
            backend.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await backend.watcher
            backend.watcher = None
        return not backend.dead

    async def _open(self, key: Key) -> Backend:
        reader, writer = await asyncio.open_unix_connection(self.unix_socket_path)
        body = struct.pack("!i", PROTOCOL_3) + b"".join(f"{name}\0{value}\0".encode() for name, value in key) + b"\0"
        writer.write(struct.pack("!i", len(body) + 4) + body)
        parameters: dict[str, str] = {}
        pid = 0
        while True:
            kind, body = await read_message(reader)
            if kind == ord("R") and struct.unpack("!i", body[:4])[0] != 0:
                writer.close()
                raise ProtocolError("the local server asked for a password: it must trust local connections")
            if kind == ord("E"):
                writer.close()
                raise ProtocolError(body.replace(b"\0", b" ").decode(errors="replace"))
            if kind == ord("S"):
                name, value, _ = body.split(b"\0")
                parameters[name.decode()] = value.decode()
            elif kind == ord("K"):
                pid = struct.unpack("!i", body[:4])[0]
            elif kind == ord("Z"):
                backend = Backend(key, reader, writer, parameters, pid)
                self._backends.add(backend)
                return backend

    async def _give_back(self, backend: Backend) -> None:
        self._returning[backend.key] += 1
        try:
            usable = await asyncio.wait_for(self._reset(backend), RESET_TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError):
            usable = False
        async with self._returned:
            self._returning[backend.key] -= 1
            if usable:
                backend.watcher = asyncio.create_task(self._watch(backend))
                self._idle[backend.key].append(backend)
                self._returned.notify_all()
        if not usable:
            self._discard(backend)

    @staticmethod
    async def _reset(backend: Backend) -> bool:
        """Finish what the client left half done, then drop its session's state."""
        # A Sync ends a half-sent extended-protocol batch (or an error's skipping), ROLLBACK a transaction.
        backend.writer.write(message(b"S") + query("ROLLBACK"))
        backend.owed += 2
        while backend.counter.ready < backend.owed:
            chunk = await backend.reader.read(65536)
            if not chunk:
                return False
            backend.counter.feed(chunk)
        # Now between messages with nothing owed: DISCARD ALL's answer is read message by message.
        backend.writer.write(query("DISCARD ALL"))
        failed = False
        while True:
            kind, body = await read_message(backend.reader)
            if kind == ord("E"):
                failed = True
            elif kind == ord("S"):
                name, value, _ = body.split(b"\0")
                backend.parameters[name.decode()] = value.decode()
            elif kind == ord("Z"):
                backend.owed = backend.counter.ready = 0
                return not failed and body == b"I"

    async def _watch(self, backend: Backend) -> None:
        """While pooled, a backend says nothing; if it does (FATAL: terminated) or closes, drop it."""
        with contextlib.suppress(OSError):
            await backend.reader.read(1)
        backend.dead = True
        if backend in self._idle[backend.key]:
            self._idle[backend.key].remove(backend)
            self._discard(backend)

    def _discard(self, backend: Backend) -> None:
        self.stats.discarded += 1
        self._backends.discard(backend)
        backend.close()


@dataclass(frozen=True)
class RunningPooler:
    """A pooler serving on 127.0.0.1:`port`; `call` runs a function on its loop (for inspection)."""

    port: int
    pooler: SessionPooler
    loop: asyncio.AbstractEventLoop

    def idle_pids(self) -> list[int]:
        async def ask() -> list[int]:
            return self.pooler.idle_pids()

        return asyncio.run_coroutine_threadsafe(ask(), self.loop).result(timeout=5)

    @property
    def stats(self) -> PoolerStats:
        return self.pooler.stats


@contextmanager
def session_pooler(unix_socket_path: str, *, ask_password: bool = False) -> Iterator[RunningPooler]:
    """Run a `SessionPooler` for `unix_socket_path` on 127.0.0.1 (its own thread and event loop)."""
    loop = asyncio.new_event_loop()

    async def start() -> tuple[SessionPooler, asyncio.Server]:
        pooler = SessionPooler(unix_socket_path, ask_password=ask_password)
        return pooler, await asyncio.start_server(pooler.serve_client, "127.0.0.1", 0)

    thread = threading.Thread(target=loop.run_forever, name="session-pooler", daemon=True)
    thread.start()
    pooler, server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield RunningPooler(server.sockets[0].getsockname()[1], pooler, loop)
    finally:

        async def stop() -> None:
            server.close()
            await pooler.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
