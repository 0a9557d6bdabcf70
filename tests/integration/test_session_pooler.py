"""The benchmarks' stand-in for RDS Proxy (support/session_pooler.py): clients are lent warm
backends, each session's state is gone for the next, pipelined batches relay whole, and a backend
that a client left half-way or that died is never lent in a bad state."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pg8000.native
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from payreq.db.engine import engine_from_url
from support.pg_wire import PROTOCOL_3, message, query
from support.session_pooler import session_pooler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from support.session_pooler import RunningPooler

pytestmark = pytest.mark.integration

TOKEN = "an-rds-iam-token"  # the proxy asks for it, as RDS Proxy does; the local server trusts


@pytest.fixture
def pooler(database_url: str) -> Iterator[RunningPooler]:
    with session_pooler(_unix_socket(database_url), ask_password=True) as running:
        yield running


def test_a_new_client_connection_is_served_by_an_already_warm_backend(database_url: str, pooler: RunningPooler) -> None:
    # Given a client that connected through the pooler, queried and left
    first = _connect(database_url, pooler)
    first_pid = first.run("SELECT pg_backend_pid()")[0][0]
    first.close()

    # When another client connects
    second = _connect(database_url, pooler)
    second_pid = second.run("SELECT pg_backend_pid()")[0][0]
    server_version = second.parameter_statuses.get("server_version")
    second.close()

    # Then the same backend answers it: one backend opened, lent twice, with the server's parameters
    assert second_pid == first_pid
    assert (pooler.stats.opened, pooler.stats.reused) == (1, 1)
    assert server_version


def test_session_state_left_by_one_client_is_gone_for_the_next(database_url: str, pooler: RunningPooler) -> None:
    # Given a client that changed its session: a setting, a prepared statement, a temporary table
    first = _connect(database_url, pooler)
    default_work_mem = first.run("SHOW work_mem")[0][0]
    first.run("SET work_mem = '7MB'")
    first.run("PREPARE remembered AS SELECT 1")
    first.run("CREATE TEMPORARY TABLE scratch (n int)")
    first_pid = first.run("SELECT pg_backend_pid()")[0][0]
    first.close()

    # When the next client is lent the same backend
    second = _connect(database_url, pooler)
    pid, work_mem, prepared, scratch = second.run(
        "SELECT pg_backend_pid(), current_setting('work_mem'),"
        " (SELECT count(*) FROM pg_prepared_statements), to_regclass('pg_temp.scratch')"
    )[0]
    second.close()

    # Then it sees none of it
    assert pid == first_pid
    assert (work_mem, prepared, scratch) == (default_work_mem, 0, None)


def test_pipelined_extended_protocol_statements_relay_whole(database_url: str, pooler: RunningPooler) -> None:
    # Given the layer's engine (each statement's Parse/Describe/Bind/Execute/Sync sent together) and
    # psycopg 3 in pipeline mode, both through the pooler
    url = make_url(database_url).set(host="127.0.0.1", port=pooler.port, password=TOKEN, query={"sslmode": "disable"})
    engine = engine_from_url(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            # When statements with parameters run, one of them failing on the server
            doubled = connection.scalar(text("SELECT CAST(:n AS int) * 2"), {"n": 21})
            with pytest.raises(DBAPIError, match="division by zero"):
                connection.scalar(text("SELECT 1 / CAST(:n AS int)"), {"n": 0})
            connection.rollback()
            after_error = connection.scalar(text("SELECT CAST(:s AS text) || '!'"), {"s": "still here"})
    finally:
        engine.dispose()
    conninfo = f"host=127.0.0.1 port={pooler.port} dbname={url.database} user={url.username} password={TOKEN}"
    with psycopg.connect(conninfo, sslmode="disable") as libpq, libpq.pipeline():
        cursors = [libpq.execute("SELECT %s::int + 1", (n,)) for n in range(5)]
        libpq.commit()
        batched = [cursor.fetchone() for cursor in cursors]

    # Then every answer is the right one, and the error is reported where it happened
    assert doubled == 42
    assert after_error == "still here!"
    assert batched == [(n + 1,) for n in range(5)]


def test_a_client_that_drops_mid_transaction_leaves_the_backend_rolled_back(
    database_url: str, pooler: RunningPooler
) -> None:
    # Given a table, and a client that began a transaction, inserted a row, then sent half of a
    # pipelined statement (no Sync) and vanished without a Terminate
    setup = _connect(database_url, pooler)
    setup.run("CREATE TABLE probe (n int)")
    pid = setup.run("SELECT pg_backend_pid()")[0][0]
    setup.close()
    with _raw_client(database_url, pooler) as raw:
        _exchange(raw, query("BEGIN") + query("INSERT INTO probe VALUES (1)"), ready=2)
        parse = message(b"P", b"\0INSERT INTO probe VALUES (2)\0" + struct.pack("!h", 0))
        bind = message(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0))
        raw.sendall(parse + bind + message(b"E", b"\0" + struct.pack("!i", 0)))

    # When the next client is lent that backend
    _wait_until(lambda: pid in pooler.idle_pids())
    second = _connect(database_url, pooler)
    second_pid = second.run("SELECT pg_backend_pid()")[0][0]
    rows = second.run("SELECT count(*) FROM probe")[0][0]
    second.run("INSERT INTO probe VALUES (3)")
    committed = second.run("SELECT count(*) FROM probe")[0][0]
    second.close()

    # Then nothing of the dropped transaction is there, and the backend works as new
    assert second_pid == pid
    assert rows == 0
    assert committed == 1


def test_a_client_that_just_closes_sees_the_pooler_close_only_once_its_backend_is_pooled(
    database_url: str, pooler: RunningPooler
) -> None:
    # Given a client that ends its session by closing its side of the socket, as an environment
    # that goes away does (no Terminate)
    with _raw_client(database_url, pooler) as raw:
        _exchange(raw, query("SET work_mem = '9MB'"), ready=1)
        raw.shutdown(socket.SHUT_WR)

        # When the pooler closes its side
        leftover = raw.recv(65536)

    # Then, by then, the backend is reset and waiting in the pool for the next client
    assert leftover == b""
    assert len(pooler.idle_pids()) == 1
    assert (pooler.stats.opened, pooler.stats.discarded) == (1, 0)


def test_a_backend_that_died_while_pooled_is_not_lent_again(database_url: str, pooler: RunningPooler) -> None:
    # Given a pooled backend that the server then terminated
    first = _connect(database_url, pooler)
    dead_pid = first.run("SELECT pg_backend_pid()")[0][0]
    first.close()
    _wait_until(lambda: dead_pid in pooler.idle_pids())
    _terminate(database_url, dead_pid)

    # When a client connects
    _wait_until(lambda: dead_pid not in pooler.idle_pids())
    second = _connect(database_url, pooler)
    answer, pid = second.run("SELECT 42, pg_backend_pid()")[0]
    second.close()

    # Then it is served by a new backend
    assert answer == 42
    assert pid != dead_pid
    assert pooler.stats.discarded == 1


def test_a_backend_that_died_during_a_session_is_not_lent_again(database_url: str, pooler: RunningPooler) -> None:
    # Given a client whose backend the server terminated while the client was connected
    first = _connect(database_url, pooler)
    dead_pid = first.run("SELECT pg_backend_pid()")[0][0]
    _terminate(database_url, dead_pid)
    # (the server's FATAL relayed, or the pooler's close: a reset when it closes with bytes unread)
    with pytest.raises((pg8000.native.DatabaseError, pg8000.native.InterfaceError, ConnectionError)):
        first.run("SELECT 1")
    with contextlib.suppress(pg8000.native.InterfaceError, OSError):  # the pooler may have closed it already
        first.close()

    # When a client connects
    second = _connect(database_url, pooler)
    pid = second.run("SELECT pg_backend_pid()")[0][0]
    second.close()

    # Then it is served by a new backend
    assert pid != dead_pid
    assert pooler.stats.opened == 2


def test_a_cancel_request_is_refused(database_url: str, pooler: RunningPooler) -> None:
    # Given a connection to the pooler
    with socket.create_connection(("127.0.0.1", pooler.port)) as raw:
        # When it sends a cancel request
        raw.sendall(struct.pack("!iiii", 16, 80877102, 1, 2))

        # Then the pooler closes it, cancelling nothing
        raw.settimeout(5)
        assert raw.recv(1) == b""


def _unix_socket(database_url: str) -> str:
    return f"{make_url(database_url).query['host']}/.s.PGSQL.5432"


def _connect(database_url: str, pooler: RunningPooler) -> pg8000.native.Connection:
    url = make_url(database_url)
    return pg8000.native.Connection(
        str(url.username), host="127.0.0.1", port=pooler.port, database=url.database, password=TOKEN, timeout=10
    )


def _terminate(database_url: str, pid: int) -> None:
    url = make_url(database_url)
    direct = pg8000.native.Connection(str(url.username), unix_sock=_unix_socket(database_url), database=url.database)
    try:
        assert direct.run("SELECT pg_terminate_backend(:pid)", pid=pid) == [[True]]
    finally:
        direct.close()


@contextmanager
def _raw_client(database_url: str, pooler: RunningPooler) -> Iterator[socket.socket]:
    """A connection to the pooler spoken to byte by byte: startup, then whatever the test sends."""
    url = make_url(database_url)
    with socket.create_connection(("127.0.0.1", pooler.port), timeout=10) as raw:
        startup = struct.pack("!i", PROTOCOL_3) + f"user\0{url.username}\0database\0{url.database}\0\0".encode()
        raw.sendall(struct.pack("!i", len(startup) + 4) + startup)
        _read_until_ready(raw, authenticate=True)
        yield raw


def _exchange(raw: socket.socket, messages: bytes, *, ready: int) -> None:
    raw.sendall(messages)
    for _ in range(ready):
        _read_until_ready(raw)


def _read_until_ready(raw: socket.socket, *, authenticate: bool = False) -> None:
    while True:
        kind, body = _read_message(raw)
        if kind == b"R" and struct.unpack("!i", body)[0] == 3 and authenticate:
            raw.sendall(message(b"p", TOKEN.encode() + b"\0"))
        assert kind != b"E", body
        if kind == b"Z":
            return


def _read_message(raw: socket.socket) -> tuple[bytes, bytes]:
    header = _read_exactly(raw, 5)
    return header[:1], _read_exactly(raw, struct.unpack("!i", header[1:])[0] - 4)


def _read_exactly(raw: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = raw.recv(size - len(data))
        assert chunk, "the pooler closed the connection"
        data += chunk
    return data


def _wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
