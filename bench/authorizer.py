"""The authorizer's cost per request, before and after revocation took effect at once.

Before, a warm container reused a credential check for 30 s: a request whose credential it had
seen paid a dictionary lookup (`hit`), one it had not paid the check inside a transaction (`miss`:
BEGIN, the lookup, the sliding-expiry touch when due, COMMIT). Now every request with a session
cookie or an API token pays the lookup itself: one statement on a unique index, in autocommit
(`now`). All three run here in one warm process against the embedded PostgreSQL, on the same
credential, so the ratios compare like with like; deployed, each statement also pays the round
trip to RDS Proxy (typically 0.3 to 1 ms in one AZ), which the `hit` path did not.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.measure import Summary

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from bench.dataset import Dataset

OLD_CACHE_SECONDS = 30.0


def measure(engine: Engine, data: Dataset, *, invocations: int, warmup: int) -> dict[str, Any]:
    from payreq.auth.api_tokens import issue_token, token_principal
    from payreq.auth.authenticate import Authenticator
    from payreq.auth.credentials import fingerprint
    from payreq.auth.principal import Principal
    from payreq.auth.sessions import session_principal, start_session
    from payreq.db import transaction
    from payreq.settings import auth_settings

    settings = auth_settings()
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        _, token = issue_token(connection, data.alice.id, name="bench", scopes=["pr.read"], expires_at=None, now=now)
        session = start_session(
            connection, data.alice.id, settings=settings, now=now, source_ip="203.0.113.7", user_agent="bench"
        )
    events: dict[str, dict[str, Any]] = {
        "api token": {"headers": {"authorization": f"Bearer {token}"}, "requestContext": {}},
        "session cookie": {"headers": {}, "cookies": [f"{settings.session_cookie}={session.secret}"]},
    }
    checks = {"api token": token_principal, "session cookie": session_principal}
    authenticator = Authenticator(engine, settings)
    results: dict[str, Any] = {}
    for label, event in events.items():
        secret = token if label == "api token" else session.secret
        kind = "bearer" if label == "api token" else "session"
        check = checks[label]

        def before_miss(check: Any = check, secret: str = secret) -> None:
            with transaction(engine) as connection:
                if check is session_principal:
                    principal = check(connection, secret, settings=settings, now=datetime.now(UTC))
                else:
                    principal = check(connection, secret, now=datetime.now(UTC))
            assert isinstance(principal, Principal)
            principal.authorizer_context()

        # The old CredentialCache's hit path, as it ran: fingerprint, lookup, expiry, context.
        remembered = {fingerprint(f"{kind}:{secret}"): (time.monotonic() + OLD_CACHE_SECONDS, None)}
        principal = authenticator.check(kind, secret)

        def before_hit(
            kind: str = kind, secret: str = secret, principal: Any = principal, remembered: Any = remembered
        ) -> None:
            entry = remembered.get(fingerprint(f"{kind}:{secret}"))
            assert entry is not None and entry[0] >= time.monotonic()
            principal.authorizer_context()

        def now_every_request(event: dict[str, Any] = event) -> None:
            assert "userId" in authenticator.context_for(event)

        figures = {
            "before_hit": _time(before_hit, invocations, warmup),
            "before_miss": _time(before_miss, invocations, warmup),
            "now": _time(now_every_request, invocations, warmup),
        }
        results[label] = {
            **{name: summary.as_dict() for name, summary in figures.items()},
            "now_over_before_hit": figures["now"].median / figures["before_hit"].median,
            "now_over_before_miss": figures["now"].median / figures["before_miss"].median,
            "now_minus_before_hit_us": (figures["now"].median - figures["before_hit"].median) * 1000,
        }
    return results


def _time(call: Callable[[], None], invocations: int, warmup: int) -> Summary:
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(invocations):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return Summary.of(timings)
