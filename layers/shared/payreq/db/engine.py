"""The SQLAlchemy engine: built lazily, once per container, and safe behind RDS Proxy.

Things that matter behind RDS Proxy and in Lambda, and why they are done this way:
- one pooled connection per warm container (a new one costs 9-17 ms, far more with TLS);
- no `SET` on connect and no SQL-level `PREPARE`: either pins the proxy session. Statement
  timeouts belong to the database role (`ALTER ROLE ... SET statement_timeout`);
- each statement in one round trip, not pg8000's three, and parsed once per connection under a
  protocol-level name, which RDS Proxy multiplexes (`pipelined_statements`);
- dates and timestamps read in C, and each row description built once per connection (`pg8000_decoding`);
- TLS verifies the server: pg8000's default context does not, and is rebuilt on every connect;
- TCP_NODELAY, which pg8000 does not set: without it a TLS handshake waits on Nagle (~58 ms vs ~11 ms);
- credentials are fetched per *new* connection, so IAM tokens (15 min) and rotated secrets just work;
- a read whose pooled connection turns out dead (a proxy failover, an idle disconnect) is run once
  more on a fresh connection (`reconnect_once`), so a warm container's first request after one is
  not a 503. Only reads: they run in autocommit, so nothing was half done. A unit of work finds a
  dead connection at its BEGIN instead (`payreq.db.transaction`); one that loses its connection
  half-way fails, and the client retries it whole.
"""

from __future__ import annotations

import socket
import ssl
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import pg8000
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, make_url

from payreq import aws
from payreq.db.pg8000_decoding import decode_faster
from payreq.db.pipelined_statements import pipeline_statements
from payreq.settings import DatabaseSettings, database_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine, ExceptionContext, ExecutionContext

PG8000, PSYCOPG = "postgresql+pg8000", "postgresql+psycopg"
# Execution option `read_connection` sets: this connection's statements may be run again on a new one.
RECONNECT_ONCE = "payreq_reconnect_once"


def database_url(settings: DatabaseSettings) -> tuple[URL, dict[str, Any]]:
    """The pg8000 URL and connect arguments for these settings.

    `DATABASE_URL` may be written for libpq (`postgresql://`, `?host=/socket/dir`, `?sslmode=`);
    it is translated here so any PostgreSQL URL a developer has works unchanged. pg8000 is the
    driver; a URL that names `postgresql+psycopg` keeps psycopg 3, which the benchmarks measure beside it.
    """
    if settings.url is not None:
        url = make_url(settings.url.get_secret_value())
        if url.drivername == PSYCOPG:
            # libpq reads ?host= and ?sslmode= itself. Only benchmarks choose this driver (bench/).
            return url, {"connect_timeout": max(1, round(settings.connect_timeout_seconds))}
        url = url.set(drivername=PG8000)
        query = dict(url.query)
        sslmode = str(query.pop("sslmode", "disable"))
        socket_dir = query.pop("host", None)
        if socket_dir:
            query["unix_sock"] = f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
        url = url.set(query=query)
    else:
        if not settings.host:
            raise RuntimeError("Set DATABASE_URL, or DB_HOST (with DB_USER, DB_NAME, DB_AUTH) for RDS Proxy")
        url = URL.create(PG8000, username=settings.user, host=settings.host, port=settings.port, database=settings.name)
        sslmode = settings.sslmode
    connect_args: dict[str, Any] = {"timeout": settings.connect_timeout_seconds}
    uses_socket = "unix_sock" in url.query
    # ssl_context=False, not None: pg8000 would otherwise ask for TLS and, if granted, skip verification.
    connect_args["ssl_context"] = False if uses_socket or sslmode == "disable" else _ssl_context(settings.ca_bundle)
    return url, connect_args


@cache
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    # RDS Proxy presents an ACM certificate, which the system trust store already verifies.
    context = ssl.create_default_context(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def password_provider(settings: DatabaseSettings) -> Callable[[], str] | None:
    if settings.url is not None:
        return None
    if settings.auth == "password":
        if settings.password is None:
            raise RuntimeError("DB_AUTH=password needs DB_PASSWORD")
        password = settings.password.get_secret_value()
        return lambda: password
    if settings.auth == "secret":
        if not settings.secret_arn:
            raise RuntimeError("DB_AUTH=secret needs DB_SECRET_ARN")
        secret_arn = settings.secret_arn

        def from_secret() -> str:
            from aws_lambda_powertools.utilities import parameters

            # Cached for 5 minutes: a rotated secret is picked up by the next new connection.
            secret = parameters.get_secret(secret_arn, transform="json", max_age=300)
            return str(secret["password"])

        return from_secret

    host, port, user, region = settings.host, settings.port, settings.user, settings.region

    def iam_token() -> str:
        return str(aws.client("rds").generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region))

    return iam_token


def remember_placeholder_rewrites() -> None:
    """Make pg8000 rewrite each statement's placeholders once per container, not once per execution.

    pg8000 turns the `%s` placeholders SQLAlchemy writes into PostgreSQL's `$1, $2...` by scanning
    the statement character by character on every execution: ~0.9 ms for a payment request's read,
    more than its round trip. For that ("format") style the result depends on the text alone, so
    it is remembered. Idempotent.
    """
    import pg8000.legacy

    scan = pg8000.legacy.convert_paramstyle
    if getattr(scan, "remembers_rewrites", False):
        return

    @lru_cache(maxsize=1024)
    def rewritten(statement: str) -> str:
        return str(scan("format", statement, ())[0])

    def convert_paramstyle(style: str, statement: str, args: Any) -> tuple[str, Any]:
        if style == "format":
            return rewritten(statement), args
        return scan(style, statement, args)  # type: ignore[no-any-return]

    convert_paramstyle.remembers_rewrites = True  # type: ignore[attr-defined]
    pg8000.legacy.convert_paramstyle = convert_paramstyle


def build_engine(settings: DatabaseSettings, *, pool_size: int | None = None) -> Engine:
    url, connect_args = database_url(settings)
    if url.drivername == PG8000:
        remember_placeholder_rewrites()
        pipeline_statements()
        decode_faster()
    password = password_provider(settings)
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size or settings.pool_size,
        max_overflow=0,
        pool_recycle=settings.pool_recycle_seconds,
        # A pre-ping would add a round trip to every request. A dead connection is found on first
        # use instead: reads run again on a new one (reconnect_once), units of work notice at BEGIN.
        pool_pre_ping=False,
        # A failing statement's error (and so every log line that prints it) names the statement but
        # not its values: those are card digits, session fingerprints, people's text.
        hide_parameters=True,
    )

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, connection_record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if password is not None:
            try:
                cparams["password"] = password()
            except Exception as error:
                # As a driver error, so SQLAlchemy reports it like any failed connect (503, retry).
                raise pg8000.InterfaceError("could not obtain database credentials") from error
        if url.drivername != PG8000 or "unix_sock" in cparams:
            return None  # SQLAlchemy connects as usual
        return _tcp_connection(cparams, settings.connect_timeout_seconds)

    if url.drivername == PG8000:
        reconnect_once(engine)

        @event.listens_for(engine, "connect")
        def _read_timeout(dbapi_connection: Any, connection_record: Any) -> None:
            # pg8000 keeps its connect timeout as the socket's timeout for every later read, so a
            # lock wait longer than 5 s would kill the connection mid-transaction. It has no public
            # setting for this; its socket (plain, or the TLS one it wrapped) is `_usock`.
            dbapi_connection._usock.settimeout(settings.read_timeout_seconds)

    return engine


def connection_lost(dialect: Any, error: Exception, dbapi_connection: Any, cursor: Any) -> bool:
    """Whether `error` means the connection is gone: pg8000's own network errors, or the server's
    last words before it closed the connection (SQLSTATE 57P01-57P03: terminated by an administrator
    or a failover, crashed, not accepting connections), which pg8000 reports as a plain DatabaseError."""
    if dialect.is_disconnect(error, dbapi_connection, cursor):
        return True
    details = error.args[0] if error.args else None
    return isinstance(details, dict) and str(details.get("C", "")).startswith("57P0")


def reconnect_once(engine: Engine) -> None:
    """Run a statement once more on a new connection when the connection itself failed under it, on
    connections that opt in with the `RECONNECT_ONCE` execution option (`read_connection` does).

    SQLAlchemy's recipe for transparent reconnects, which it holds safe only in DBAPI autocommit:
    every statement there is its own transaction, so one that died with its connection did nothing.
    Never for `executemany` (part of it may have run). A second failure is the caller's: the
    database is really away, and the error handler answers 503.
    """

    def run(
        execute: Callable[..., None], cursor: Any, statement: str, parameters: Any, context: ExecutionContext
    ) -> bool | None:
        if not context.execution_options.get(RECONNECT_ONCE):
            return None  # the dialect executes it as usual
        connection = context.root_connection
        try:
            execute(cursor, statement, parameters, context)
        except context.dialect.loaded_dbapi.Error as error:
            if not connection_lost(context.dialect, error, connection.connection.dbapi_connection, cursor):
                raise
            from payreq.observability import logger

            logger.warning("database connection lost under a read: reconnecting once", extra={"error": str(error)})
            connection.invalidate()
            connection.rollback()
            fresh = connection.connection.dbapi_connection  # a new connection from the pool
            fresh.autocommit = True  # type: ignore[union-attr]
            context.cursor = cursor = connection.connection.cursor()
            execute(cursor, statement, parameters, context)
        return True

    @event.listens_for(engine, "handle_error")
    def _treat_shutdown_as_disconnect(context: ExceptionContext) -> None:
        # So SQLAlchemy invalidates the connection (the error handler's 503) instead of pooling it.
        error = context.original_exception
        if not context.is_disconnect and isinstance(error, pg8000.DatabaseError):
            context.is_disconnect = connection_lost(context.dialect, error, None, None)

    @event.listens_for(engine, "do_execute")
    def _do_execute(cursor: Any, statement: str, parameters: Any, context: ExecutionContext) -> bool | None:
        return run(context.dialect.do_execute, cursor, statement, parameters, context)

    @event.listens_for(engine, "do_execute_no_params")
    def _do_execute_no_params(cursor: Any, statement: str, context: ExecutionContext) -> bool | None:
        return run(
            lambda cursor, statement, _parameters, context: context.dialect.do_execute_no_params(
                cursor, statement, context
            ),
            cursor,
            statement,
            None,
            context,
        )


def _tcp_connection(cparams: dict[str, Any], timeout: float) -> Any:
    """A pg8000 connection over a socket we opened, so that it has TCP_NODELAY.

    `pg8000.connect` (what SQLAlchemy calls) takes no socket, but the Connection class it returns
    does; pg8000 still uses `host` to verify the server's name when it wraps the socket in TLS.
    """
    address = (cparams.get("host", "localhost"), cparams.get("port", 5432))
    try:
        sock = socket.create_connection(address, timeout)
    except OSError as error:
        raise pg8000.InterfaceError(f"cannot connect to {address[0]}:{address[1]}: {error}") from error
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return pg8000.Connection(sock=sock, **cparams)
    except BaseException:
        sock.close()
        raise


def engine_from_url(url: str, *, pool_size: int = 1) -> Engine:
    """An engine for an explicit URL (tools, tests), with the same conventions as the container's."""
    return build_engine(DatabaseSettings(DATABASE_URL=url), pool_size=pool_size)


@cache
def get_engine() -> Engine:
    """The container's engine, built on first use and reused by every warm invocation."""
    return build_engine(database_settings())


def reset_engine() -> None:
    """Dispose of the cached engine (tests point it at a fresh database)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
