"""SnapStart: what a function does before Lambda snapshots it, and after Lambda restores it.

Every handler module calls `register(...)` once, at import (its init). Lambda initialises a
published version once, runs the before-snapshot hooks and snapshots the memory; each new execution
environment then resumes from that snapshot instead of importing anything. So:

- before the snapshot, do what a first request would otherwise pay for: the imports a request
  makes lazily, the HTTP resolver's per-route validation models, the database dialect's first
  connect (when the database answers; a snapshot taken without one is still valid), and for IAM
  database auth the boto3 client that signs tokens;
- after restore, undo what must not be shared between environments resumed from one snapshot: the
  pooled database connections (their sockets belong to the environment that opened them), cached
  AWS credentials and secrets (the snapshot's may have expired; Lambda gives the restored
  environment its own), and the random generator's state (each copy would draw the same numbers).

`snapshot_restore_py` exists only in Lambda's Python runtime. Elsewhere the hooks are kept here, and
the local stack and the benchmarks run them themselves (`run_before_snapshot`, `run_after_restore`)
to emulate a snapshot with fork().
"""

from __future__ import annotations

import random
import re
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

_before: list[Callable[[], None]] = []
_after: list[Callable[[], None]] = []


def register(
    resolver: APIGatewayHttpResolver | None = None,
    *,
    database: bool = True,
    forget: tuple[Callable[[], None], ...] = (),
) -> None:
    """Register this function's hooks (its handler module calls it once, with its resolver if any;
    `database=False` for a function that never connects; `forget` for what else the function
    caches that holds credentials or sockets, dropped after restore)."""
    before: list[Callable[[], None]] = [prime_imports]
    if database:
        before += [prime_database, prime_aws_signing]
    if resolver is not None:
        before.append(lambda: prime_routes(resolver))
    for hook in before:
        _on_before_snapshot(hook)
    if not _after:
        for hook in (drop_connections, drop_credentials, reseed_random):
            _on_after_restore(hook)
    for hook in forget:
        _on_after_restore(hook)


def run_before_snapshot() -> None:
    """Lambda's order: the hooks registered last run first."""
    database_answers.cache_clear()
    for hook in reversed(_before):
        hook()


def run_after_restore() -> None:
    """Lambda's order: the hooks run in the order they were registered."""
    for hook in _after:
        hook()


def _on_before_snapshot(hook: Callable[[], None]) -> None:
    _before.append(hook)
    runtime = _runtime()
    if runtime is not None:
        runtime.register_before_snapshot(_guarded(hook))


def _on_after_restore(hook: Callable[[], None]) -> None:
    _after.append(hook)
    runtime = _runtime()
    if runtime is not None:
        runtime.register_after_restore(hook)


def _runtime() -> Any:
    try:
        import snapshot_restore_py  # type: ignore[import-not-found]
    except ImportError:
        return None  # not in Lambda's runtime (tests, the local stack, the benchmarks)
    return snapshot_restore_py


def _guarded(hook: Callable[[], None]) -> Callable[[], None]:
    """Priming is an optimisation: a failed one must not fail the version's publication."""

    def run() -> None:
        try:
            hook()
        except Exception:
            logger.warning("snapshot priming step failed; the first request will do it", exc_info=True)

    return run


# ------------------------------------------------------------------ before the snapshot


# What a first request imports on first use, found by diffing sys.modules around a restored
# environment's first request (bench/cold.py measures it): strptime's module (the driver parses
# timestamps with it) and the currency table money formatting reads.
LAZY_IMPORTS = ("_strptime", "iso4217")


def prime_imports() -> None:
    import importlib

    for name in LAZY_IMPORTS:
        importlib.import_module(name)


def prime_database() -> None:
    """Build the engine and, when the database answers, run its dialect's first connect (server
    version, settings: several round trips), then give the connection back. Reads `DB_*` settings."""
    from payreq.db import get_engine

    database_answers()
    get_engine().dispose()


@cache
def database_answers() -> bool:
    """Whether the database answered before the snapshot (asked once: the other hooks depend on it)."""
    from sqlalchemy.exc import DBAPIError

    from payreq.db import get_engine

    try:
        with get_engine().connect() as connection:
            connection.exec_driver_sql("select 1")
    except DBAPIError:
        logger.info("database not reachable before the snapshot; its first connect is left to a request")
        return False
    return True


def prime_aws_signing() -> None:
    """With IAM database auth every new connection signs a token: import boto3 and build the RDS
    client now (service models loaded), so the restored environment only signs."""
    from payreq.settings import database_settings

    settings = database_settings()
    if settings.url is None and settings.auth == "iam":
        from payreq import aws

        aws.client("rds")


# A read of a record that does not exist: the route runs its query and answers 404, writing nothing.
NOBODY = "00000000-0000-4000-8000-000000000000"


def prime_routes(resolver: APIGatewayHttpResolver) -> None:
    """Build each route's request-validation models (Powertools builds them on the route's first
    request), then serve each read of one record by id once, for an id that does not exist: its
    middleware stack, its statements (compiled and cached by SQLAlchemy) and its error envelope
    are ready when the first real request comes. Only GETs by id, whose answer is a 404 that
    changes nothing; none whose guard re-checks the credential (that would audit a refusal)."""
    routes = [*resolver._static_routes, *resolver._dynamic_routes]
    for route in routes:
        for attribute in ("dependant", "body_field"):
            getattr(route, attribute, None)
    for route in routes:
        guards = [middleware for middleware in route.middlewares if hasattr(middleware, "required_permission")]
        if route.method != "GET" or "<" not in route.path or any(getattr(g, "recheck", False) for g in guards):
            continue
        if not database_answers():
            # Without a database each read would be a 503 and an error in the log, priming nothing.
            return
        permissions = " ".join(str(g.required_permission) for g in guards if g.required_permission)
        path = re.sub(r"<[^>]+>", NOBODY, route.path)
        resolver.resolve(_read_by(path, permissions), _PrimingContext())  # type: ignore[arg-type]


def _read_by(path: str, permissions: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"user-agent": "payreq-snapstart-priming"},
        "requestContext": {
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "payreq-snapstart-priming",
            },
            "accountId": "000000000000",
            "apiId": "priming",
            "domainName": "priming.invalid",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0,
            "requestId": "snapstart-priming",
            "routeKey": "$default",
            "stage": "$default",
            "authorizer": {"lambda": {"userId": NOBODY, "permissions": permissions, "authMethod": "api_token"}},
        },
        "isBase64Encoded": False,
    }


class _PrimingContext:
    function_name = "snapstart-priming"
    aws_request_id = "snapstart-priming"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:snapstart-priming"
    memory_limit_in_mb = 512

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


# ------------------------------------------------------------------ after restore


def drop_connections() -> None:
    """Close the pooled connections the snapshot holds: their sockets are not this environment's.
    The engine itself (its dialect, compiled statements) is kept."""
    from payreq.db.engine import get_engine

    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)


def drop_credentials() -> None:
    """Replace the AWS credentials read before the snapshot, and forget cached secrets (the next use
    fetches them again). The clients themselves are kept."""
    from payreq import aws

    aws.forget_credentials()
    # Only if a secret was read: importing Powertools' parameters would import boto3 (~100 ms).
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()


def reseed_random() -> None:
    """Each restored copy would otherwise draw the same sequence (`secrets`, `uuid4` and
    `os.urandom` read the kernel and need nothing)."""
    random.seed()
