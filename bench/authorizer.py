"""The authorizer's cost per API call: it runs before every request, and looks the credential up
each time (sign-out and token revocation take effect at once, so nothing is cached across requests).

Measured in one warm process against the embedded PostgreSQL, on the same credential, interleaved:
- `before`: the lookup as it was: a SQLAlchemy Core `select()` built per request (statement
  construction, cache key), run with pg8000's extended protocol on a `read_connection` (three
  round trips when this was written: Parse, Describe, Execute; one since the layer sends them
  together, `payreq/db/pipelined_statements.py`, which this process has too);
- `now`: the written-out statement with the digest as `$1`, run on the driver: one round trip, and
  parsed once per connection (`pipelined_statements`), so each later lookup is Bind and Execute;
- `handler`: the whole warm invocation of `auth_api.authorizer.lambda_handler` (Powertools' event
  class, logging and metrics decorators included), as API Gateway calls it.
Round trips are counted at pg8000's socket flush. Deployed, each round trip also pays the way to
RDS Proxy and back (typically 0.3-1 ms in one AZ), which the local socket hides: the count is what
carries over.
"""

from __future__ import annotations

import contextlib
import io
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.child import Context
from bench.measure import Summary

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

    from bench.dataset import Dataset


def measure(engine: Engine, database_url: str, data: Dataset, *, invocations: int, warmup: int) -> dict[str, Any]:
    from payreq.auth.api_tokens import issue_token
    from payreq.auth.authenticate import Authenticator
    from payreq.auth.sessions import start_session
    from payreq.db import read_connection, transaction
    from payreq.settings import auth_settings

    settings = auth_settings()
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        _, token = issue_token(connection, data.alice.id, name="bench", scopes=["pr.read"], expires_at=None, now=now)
        session = start_session(
            connection, data.alice.id, settings=settings, now=now, source_ip="203.0.113.7", user_agent="bench"
        )
    credentials: dict[str, tuple[dict[str, Any], str, str]] = {
        "api token": ({"headers": {"authorization": f"Bearer {token}"}}, token, "bearer"),
        "session cookie": (
            {"headers": {}, "cookies": [f"{settings.session_cookie}={session.secret}"]},
            session.secret,
            "session",
        ),
    }
    authenticator = Authenticator(engine, settings)
    handler = _authorizer_handler(database_url)
    results: dict[str, Any] = {}
    for label, (event, secret, kind) in credentials.items():

        def before(secret: str = secret, kind: str = kind) -> None:
            with read_connection(engine) as connection:
                _core_lookup(connection, kind, secret)

        def now_check(event: dict[str, Any] = event) -> None:
            assert "userId" in authenticator.context_for(event)

        def whole(event: dict[str, Any] = event) -> None:
            answer = handler(_authorizer_event(event), Context())
            assert answer["context"].get("userId"), answer

        calls: dict[str, Callable[[], None]] = {"before": before, "now": now_check, "handler": whole}
        figures = _interleaved(calls, invocations, warmup)
        trips = {name: _round_trips(call) for name, call in calls.items()}
        results[label] = {
            **{name: summary.as_dict() for name, summary in figures.items()},
            "round_trips": trips,
            "now_over_before": figures["now"].median / figures["before"].median,
        }
    return results


def _core_lookup(connection: Connection, kind: str, secret: str) -> Any:
    """The lookup as it was before: a Core statement built for each request."""
    from sqlalchemy import select

    from payreq.auth.credentials import fingerprint
    from payreq.auth.users import permissions_of
    from payreq.db.schema import api_tokens, sessions, users

    table = api_tokens if kind == "bearer" else sessions
    statement = (
        select(
            table.c.id,
            table.c.user_id,
            table.c.expires_at,
            table.c.revoked_at,
            users.c.is_active,
            permissions_of(table.c.user_id).label("permissions"),
        )
        .join(users, users.c.id == table.c.user_id)
        .where(table.c.token_hash == fingerprint(secret))
    )
    return connection.execute(statement).one_or_none()


def _authorizer_handler(database_url: str) -> Callable[..., dict[str, Any]]:
    import importlib

    from bench.system import function_environment, use_environment
    from payreq import settings

    use_environment(function_environment("AuthorizerFunction", database_url))
    settings.reset()
    with contextlib.redirect_stdout(io.StringIO()):
        module = importlib.import_module("auth_api.authorizer")
    handler: Callable[..., dict[str, Any]] = module.lambda_handler

    def quietly(*args: Any) -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()):  # its log lines, as CloudWatch would get them
            return handler(*args)

    return quietly


def _authorizer_event(credential: dict[str, Any]) -> dict[str, Any]:
    from support.events import load_event

    event = load_event("authorizer_request")
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "authorization"}
    event["headers"].update(credential["headers"])
    event.pop("cookies", None)
    event.pop("identitySource", None)
    if "cookies" in credential:
        event["cookies"] = credential["cookies"]
    return event


def _interleaved(calls: dict[str, Callable[[], None]], invocations: int, warmup: int) -> dict[str, Summary]:
    for call in calls.values():
        for _ in range(warmup):
            call()
    timings: dict[str, list[float]] = {name: [] for name in calls}
    block = 50
    for round_ in range(max(1, invocations // block)):
        for name in list(calls) if round_ % 2 == 0 else reversed(list(calls)):
            call = calls[name]
            for _ in range(block):
                started = time.perf_counter()
                call()
                timings[name].append((time.perf_counter() - started) * 1000)
    return {name: Summary.of(values) for name, values in timings.items()}


def _round_trips(call: Callable[[], None]) -> int:
    """Socket flushes pg8000 makes during one call (each is a wait for the server's answer)."""
    import pg8000.core

    flush = pg8000.core._flush
    count = [0]

    def counted(sock: Any) -> None:
        count[0] += 1
        flush(sock)

    pg8000.core._flush = counted
    try:
        call()
    finally:
        pg8000.core._flush = flush
    return count[0]
