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

import json
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
    request), then serve each read of one record by id: once for an id that does not exist (its
    middleware stack, its first statement, its error envelope), and once for the first record its
    collection lists, when there is one (every statement of a found record, its response model and
    its serialisation: a 404 stops at the first statement, which left ~10 ms of a restored first
    request's work undone). Only GETs, which change nothing; none whose guard re-checks the
    credential (that would audit a refusal)."""
    routes = [*resolver._static_routes, *resolver._dynamic_routes]
    for route in routes:
        for attribute in ("dependant", "body_field"):
            getattr(route, attribute, None)
    collections = {route.path: route for route in resolver._static_routes if route.method == "GET"}
    for route in routes:
        if route.method != "GET" or "<" not in route.path or _rechecks(route):
            continue
        if not database_answers():
            # Without a database each read would be a 503 and an error in the log, priming nothing.
            return
        _serve(resolver, re.sub(r"<[^>]+>", NOBODY, route.path), _permissions(route))
        collection, _, last = route.path.rpartition("/")
        listing = collections.get(collection)
        if listing is None or "<" in collection or not last.startswith("<") or _rechecks(listing):
            continue
        found = _first_id(_serve(resolver, collection, _permissions(listing), "limit=1"))
        if found is not None:
            _serve(resolver, f"{collection}/{found}", _permissions(route))


def _serve(resolver: APIGatewayHttpResolver, path: str, permissions: str, query: str = "") -> dict[str, Any]:
    return dict(resolver.resolve(_read_by(path, permissions, query), _PrimingContext()))  # type: ignore[arg-type]


def _guards(route: Any) -> list[Any]:
    return [middleware for middleware in route.middlewares if hasattr(middleware, "required_permission")]


def _rechecks(route: Any) -> bool:
    return any(getattr(guard, "recheck", False) for guard in _guards(route))


def _permissions(route: Any) -> str:
    return " ".join(str(guard.required_permission) for guard in _guards(route) if guard.required_permission)


def _first_id(response: dict[str, Any]) -> str | None:
    """The id of the first item of a collection's page, if it answered one (and it is an id)."""
    if response.get("statusCode") != 200:
        return None
    try:
        found = str(json.loads(response["body"])["items"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return found if re.fullmatch(r"[0-9a-fA-F-]{36}", found) else None


def _read_by(path: str, permissions: str, query: str = "") -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        **({"queryStringParameters": dict(pair.split("=", 1) for pair in query.split("&"))} if query else {}),
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
