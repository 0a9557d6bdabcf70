"""`python -m payreq_local` (make run): Payreq on this machine from template.yaml, no Docker, no AWS.

Starts the embedded PostgreSQL (kept in .local/postgres between runs; created, migrated and seeded
with demo users and data), moto as the S3/SQS endpoint (the template's buckets, queues and S3 triggers), one
warm worker per function, and the gateway (HTTP API, WebSocket API, @connections, /docs) on
http://127.0.0.1:3000. Runs until Ctrl-C, then stops all of it.

`python -m payreq_local openapi [--check]` writes (or checks) openapi.json, merged from the
functions' resolvers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import logging
import os
import signal
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from payreq_local.environment import (
    LOCAL_PARAMETERS,
    LocalEndpoints,
    browser_origin,
    function_environment,
    own_origins,
    read_env_vars_file,
    with_own_origins,
)
from payreq_local.intrinsics import Resolver, TemplateError
from payreq_local.template import ROOT, TEMPLATE, Application, load_template, read_application
from payreq_local.workers import FunctionPool, InitError, Workers

if TYPE_CHECKING:
    from collections.abc import Mapping

    from payreq_local.postgres import EmbeddedPostgres

log = logging.getLogger("payreq_local")
OPENAPI_FILE = ROOT / "openapi.json"
_PLACEHOLDER_ENDPOINTS = LocalEndpoints(
    database_url="postgresql://postgres@localhost/payreq",
    s3_url="http://127.0.0.1:4566",
    sqs_url="http://127.0.0.1:4566",
    gateway_url="http://127.0.0.1:3000",
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The stack's own lines (one per invocation) at INFO; libraries (pgserver, alembic) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stdout)
    log.setLevel(logging.INFO)
    # A handler of their own: the demo seed runs the flows in this process, and Powertools' Logger
    # (service "payreq") then filters the root handlers, dropping every logger whose name contains
    # "payreq", these lines included.
    if not log.handlers:  # main() may run more than once in a process (`payreq openapi export`)
        own = logging.StreamHandler(sys.stdout)
        own.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        log.addHandler(own)
        log.propagate = False
    # pgserver's import looks for a runtime dir; /tmp, its fallback, is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        if argv[:1] == ["openapi"]:
            return asyncio.run(openapi_command(_openapi_arguments(argv[1:])))
        return asyncio.run(run(_run_arguments(argv)))
    except (TemplateError, InitError, OSError) as error:
        print(f"payreq local: {error}", file=sys.stderr, flush=True)
        return 1


# ---------------------------------------------------------------------------------- arguments


def _template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="SAM template to serve (default: template.yaml)"
    )
    parser.add_argument(
        "--base-dir",
        type=Path,
        default=None,
        help="where CodeUri/ContentUri paths start (default: the template's folder)",
    )
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter values (local defaults: Stage=local, ...)",
    )


def _run_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m payreq_local", description=(__doc__ or "").splitlines()[0])
    _template_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PAYREQ_LOCAL_PORT", "3000")),
        help="gateway port: HTTP API, /ws, /@connections, /docs (default: 3000 or $PAYREQ_LOCAL_PORT; 0 = any free)",
    )
    parser.add_argument(
        "--s3-port", type=int, default=4566, help="S3/SQS endpoint (moto) port (default: 4566; 0 = any free)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / ".local" / "postgres", help="PostgreSQL data (default: .local/postgres)"
    )
    parser.add_argument("--database", default="payreq", help="database name (default: payreq)")
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo users and data")
    parser.add_argument("--lazy", action="store_true", help="start workers on first use instead of at start-up")
    parser.add_argument("--max-workers", type=int, default=4, help="concurrent workers per function (default: 4)")
    parser.add_argument(
        "--schedule-seconds",
        type=float,
        default=60.0,
        help="run each Type: Schedule event at its rate or this often, whichever is sooner (default: 60; 0 = never)",
    )
    parser.add_argument(
        "--env-vars", type=Path, default=None, help="JSON of extra variables, as `sam local --env-vars`"
    )
    parser.add_argument(
        "--allow-origin",
        dest="allow_origins",
        action="append",
        type=browser_origin,
        default=[
            browser_origin(item) for item in os.environ.get("PAYREQ_ALLOW_ORIGINS", "").split(",") if item.strip()
        ],
        metavar="ORIGIN",
        help="a frontend's dev server origin (e.g. http://localhost:5173) to allow in CORS, the CSRF check and "
        "the WebSocket's Origin check; repeatable (default: $PAYREQ_ALLOW_ORIGINS, comma-separated)",
    )
    return parser.parse_args(argv)


def _openapi_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m payreq_local openapi", description="write the merged openapi.json")
    _template_options(parser)
    parser.add_argument("--output", type=Path, default=OPENAPI_FILE, help="where to write it (default: openapi.json)")
    parser.add_argument("--check", action="store_true", help="fail if --output differs from what would be written")
    return parser.parse_args(argv)


def _parameters(overrides: list[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = dict(LOCAL_PARAMETERS)
    for item in overrides:
        name, separator, value = item.partition("=")
        if not separator:
            raise TemplateError(f"--parameter-overrides takes NAME=VALUE, not {item!r}")
        parameters[name] = value
    return parameters


def _print_function_line(function: str, line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}   {function} | {line}", flush=True)


def _pools(
    application: Application,
    resolver: Resolver,
    endpoints: LocalEndpoints,
    env_vars: Mapping[str, Mapping[str, str]],
    max_workers: int,
    names: list[str] | None = None,
) -> Workers:
    return Workers(
        {
            name: FunctionPool(
                spec, function_environment(spec, resolver, endpoints, env_vars), _print_function_line, max_workers
            )
            for name, spec in application.functions.items()
            if names is None or name in names
        }
    )


# --------------------------------------------------------------------------------------- run


async def run(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as cleanup:
        startup = asyncio.ensure_future(_start(args, cleanup, started))
        stop_wait = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({startup, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        if not startup.done():  # Ctrl-C while starting: unwind what has started
            startup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await startup
        else:
            startup.result()  # a start-up failure raises here, after the cleanup below
            await stop_wait
        stop_wait.cancel()
        log.info("stopping...")
    print("payreq local stopped", flush=True)
    return 0


async def _start(args: argparse.Namespace, cleanup: contextlib.AsyncExitStack, started: float) -> None:
    from aiohttp import web

    from payreq_local.gateway import WEBSOCKET_PATH, Gateway
    from payreq_local.openapi import collect_schemas, merge
    from payreq_local.queues import QueuePoller
    from payreq_local.s3 import MotoProcess, NotificationPoller, provision, queue_urls
    from payreq_local.schedules import ScheduleRunner, period_seconds

    template = load_template(args.template)
    base_dir = args.base_dir or args.template.resolve().parent
    env_vars = read_env_vars_file(args.env_vars)
    parameters = _parameters(args.parameter_overrides)

    # Both ports are bound before anything starts, so every function's environment can name them.
    gateway_socket = _listen(args.host, args.port, "--port")
    cleanup.callback(gateway_socket.close)
    gateway_port = gateway_socket.getsockname()[1]
    gateway_url = f"http://{args.host}:{gateway_port}"
    parameters = with_own_origins(template, parameters, [*own_origins(args.host, gateway_port), *args.allow_origins])
    moto = MotoProcess(_listen(args.host, args.s3_port, "--s3-port"))
    cleanup.push_async_callback(moto.stop)

    resolver = Resolver(
        template, parameters, resource_names=queue_urls(template, Resolver(template, parameters), moto.url)
    )
    application = read_application(template, resolver, base_dir)
    for spec in application.functions.values():  # fail on an unresolvable variable before starting anything
        function_environment(spec, resolver, _PLACEHOLDER_ENDPOINTS, env_vars)

    await moto.start()
    postgres = await asyncio.to_thread(_start_postgres, args.data_dir)
    cleanup.callback(postgres.stop)
    database_url = postgres.url(args.database)
    endpoints = LocalEndpoints(database_url=database_url, s3_url=moto.url, sqs_url=moto.url, gateway_url=gateway_url)
    workers = _pools(application, resolver, endpoints, env_vars, args.max_workers)
    cleanup.push_async_callback(workers.close)
    warming = asyncio.ensure_future(workers.warm()) if not args.lazy else None

    demo_users, demo_data = await asyncio.to_thread(_prepare_database, postgres, args.database, not args.no_seed)
    await moto.wait_ready()
    storage = await asyncio.to_thread(provision, template, application, resolver, moto.url)
    cold_starts = await warming if warming is not None else {}

    async def openapi_document() -> dict[str, Any]:
        return merge(application, await collect_schemas(application, workers))

    def processes() -> dict[str, Any]:
        return {"moto": moto.pid, "postgres": postgres.pid}

    gateway = Gateway(application, workers, openapi=openapi_document, processes=processes)
    runner = web.AppRunner(gateway.web_app(), access_log=None, shutdown_timeout=3.0)
    await runner.setup()
    cleanup.push_async_callback(runner.cleanup)
    cleanup.push_async_callback(gateway.close)  # WebSockets close (and $disconnect runs) before the server stops
    await web.SockSite(runner, gateway_socket).start()
    poller = NotificationPoller(
        storage, moto.url, gateway.invoke_s3, lambda name: resolver.attribute(name, "Arn", name)
    )
    poller.start()
    cleanup.push_async_callback(poller.stop)
    queue_poller = QueuePoller(
        application.sqs_triggers,
        storage.queues,
        lambda name: str(resolver.attribute(name, "Arn", name)),
        moto.url,
        gateway.invoke_sqs,
    )
    queue_poller.start()
    cleanup.push_async_callback(queue_poller.stop)
    schedules = ScheduleRunner(application.schedules, gateway.invoke_schedule, ceiling_seconds=args.schedule_seconds)
    gateway.schedules = schedules
    schedules.start()
    cleanup.push_async_callback(schedules.stop)

    # Printed with the host name a browser uses (localhost for a loopback address), as the README does.
    gateway_url = own_origins(args.host, gateway_port)[0]
    ws_url = gateway_url.replace("http://", "ws://", 1) + WEBSOCKET_PATH
    lines = [
        f"Payreq local stack from {args.template.name}: {len(application.functions)} functions, "
        f"{len(application.routes)} HTTP routes",
        f"  HTTP API       {gateway_url}   (Swagger UI {gateway_url}/docs, OpenAPI {gateway_url}/openapi.json)",
        f"  demo page      {gateway_url}/   (sign in as alice, bob or carol; a second browser shows changes live)",
    ]
    if application.websocket is not None:
        lines.append(f"  WebSocket API  {ws_url}   (routes: {', '.join(application.websocket.routes)})")
        lines.append(f"  @connections   {gateway_url}/@connections/{{connectionId}}")
    for schedule in application.schedules:
        lines.append(
            f"  schedule       {schedule.function} {schedule.schedule}, locally every "
            f"{period_seconds(schedule.schedule, args.schedule_seconds):.0f}s "
            f"(now: POST {gateway_url}/_local/schedules/{schedule.function})"
        )
    for trigger in application.s3_triggers:
        where = f"{storage.buckets[trigger.bucket]}/{trigger.prefix}*{trigger.suffix}"
        lines.append(f"  S3 trigger     {where} -> {trigger.function}")
    lines.append(f"  S3/SQS (moto)  {moto.url}   (buckets: {', '.join(storage.buckets.values())})")
    lines.append(f"  PostgreSQL     {database_url}")
    for email, permissions in demo_users.items():
        lines.append(f"  demo user      {email}: {permissions}")
    if demo_data:
        lines.append(f"  demo data      {demo_data}")
    if "TestLoginToken" in (template.get("Parameters") or {}):
        token = resolver.resolve({"Ref": "TestLoginToken"}, "TestLoginToken")
        lines.append(f"  test login     POST /auth/test-login with token {token!r} (and an email, permissions)")
    if cold_starts:
        timings = ", ".join(f"{name} {ms / 1000:.1f}s" for name, ms in cold_starts.items())
        lines.append(f"  cold starts    {timings}")
    lines += [
        f"DATABASE_URL={database_url}",
        f"PAYREQ_API_URL={gateway_url}",
        f"PAYREQ_WEBSOCKET_URL={ws_url}",
        f"PAYREQ_WEBSOCKET_MANAGEMENT_URL={gateway_url}",
        f"AWS_ENDPOINT_URL_S3={moto.url}",
        f"functions: {', '.join(application.functions)}",
        f"payreq local ready in {time.perf_counter() - started:.1f}s (Ctrl-C stops it)",
    ]
    if own_origins(args.host, gateway_port)[0].startswith("http://localhost:"):
        # Loopback URLs as browsers and the README name them (the servers listen on 127.0.0.1).
        lines = [line.replace("://127.0.0.1:", "://localhost:") for line in lines]
    print("\n".join(lines), flush=True)


def _listen(host: str, port: int, option: str) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as error:
        raise OSError(f"cannot listen on {host}:{port} ({error.strerror}); choose another port with {option}") from None


def _start_postgres(data_dir: Path) -> EmbeddedPostgres:
    from payreq_local.postgres import EmbeddedPostgres

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return EmbeddedPostgres(data_dir).start()


def _prepare_database(postgres: EmbeddedPostgres, database: str, seed_demo: bool) -> tuple[dict[str, str], str]:
    """Create the database on first run, migrate it to head, seed the demo users and data (as
    `payreq seed-demo`); the users' permissions, and what the seeding did."""
    from sqlalchemy import text

    from payreq import settings
    from payreq.db import migrate
    from payreq.db.engine import engine_from_url
    from payreq_local.seed import DEMO_USERS, seed

    admin = engine_from_url(postgres.url()).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    url = postgres.url(database)
    # Alembic's env reads the layer's settings; point them at this database.
    os.environ["DATABASE_URL"] = url
    settings.reset()
    migrate.upgrade("head")
    if not seed_demo:
        return {}, ""
    engine = engine_from_url(url)
    try:
        seeded = seed(engine)
    finally:
        engine.dispose()
    return {email: " ".join(permissions) for email, (_, permissions) in DEMO_USERS.items()}, seeded.describe()


# ----------------------------------------------------------------------------------- openapi


async def openapi_command(args: argparse.Namespace) -> int:
    from payreq_local.openapi import collect_schemas, merge, render

    template = load_template(args.template)
    parameters = _parameters(args.parameter_overrides)
    resolver = Resolver(template, parameters)
    application = read_application(template, resolver, args.base_dir or args.template.resolve().parent)
    workers = _pools(application, resolver, _PLACEHOLDER_ENDPOINTS, {}, 1, names=application.http_functions)
    try:
        document = render(merge(application, await collect_schemas(application, workers)))
    finally:
        await workers.close()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != document:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True), document.splitlines(keepends=True), str(args.output), "generated"
            )
            sys.stderr.writelines(list(diff)[:80])
            print(f"{args.output} is stale: run `make openapi` and commit it", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(document)
    print(f"wrote {args.output} ({len(document.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
