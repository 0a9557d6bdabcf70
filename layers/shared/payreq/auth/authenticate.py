"""From an incoming request's credentials to the authorizer context the functions read.

The authorizer authenticates; it never refuses. A request with no credential, or a bad one, goes
on with an empty context (or `authError`), and the route's `authorize(...)` answers 401/403 in
the error envelope and audits it. Refusing here would make API Gateway answer its own
`{"message": "Forbidden"}`, outside the envelope, and unaudited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from payreq.audit import record_security_event_now
from payreq.auth.api_tokens import token_principal
from payreq.auth.credentials import API_TOKEN_PREFIX, fingerprint
from payreq.auth.jwt import JwksCache, TokenRejected, verify_jwt
from payreq.auth.principal import UNAVAILABLE, AuthFailure, Principal
from payreq.auth.sessions import cookie_value, session_principal
from payreq.context import RequestContext
from payreq.db import repeat_if_connection_lost, transaction
from payreq.db.schema import user_permissions, users
from payreq.edge import viewer_address
from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import Connection, Engine

    from payreq.settings import AuthSettings


@dataclass
class CredentialCache:
    """Successful checks, reused for `ttl` seconds by a warm container (the "cached introspection"):
    API Gateway cannot cache an either-cookie-or-bearer authorizer, since it demands every identity
    source be present."""

    ttl: float
    _entries: dict[bytes, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, key: bytes) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: bytes, principal: Principal) -> None:
        if self.ttl > 0:
            self._entries[key] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Authenticator:
    engine: Engine
    settings: AuthSettings
    jwks: JwksCache = field(default_factory=JwksCache)
    cache: CredentialCache | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.cache is None:
            self.cache = CredentialCache(self.settings.cache_seconds)

    def context_for(self, event: Mapping[str, Any]) -> dict[str, str]:
        """The authorizer context for an API Gateway (payload 2.0) request or authorizer event."""
        credential = self._credential(event)
        if credential is None:
            return {}
        kind, secret = credential
        key = fingerprint(f"{kind}:{secret}")
        assert self.cache is not None
        cached = self.cache.get(key)
        if cached is not None:
            return cached.authorizer_context()
        try:
            result = self._check(kind, secret)
        except DBAPIError:
            logger.exception("credential check failed: database unavailable")
            return {"authError": UNAVAILABLE}
        if isinstance(result, AuthFailure):
            record_security_event_now(
                self.engine, _request_context(event), "bad_token", {"credential": kind, "reason": result.reason}
            )
            return {"authError": result.reason}
        self.cache.put(key, result)
        return result.authorizer_context()

    def _credential(self, event: Mapping[str, Any]) -> tuple[str, str] | None:
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            return ("bearer", token.strip()) if scheme.lower() == "bearer" else ("unsupported", authorization)
        session = cookie_value(event.get("cookies"), self.settings.session_cookie)
        return ("session", session) if session else None

    def _check(self, kind: str, secret: str) -> Principal | AuthFailure:
        # Every request passes here first: a warm authorizer whose pooled connection died (a proxy
        # failover, an idle disconnect) checks again on a fresh one rather than failing the request.
        return repeat_if_connection_lost(lambda: self._check_once(kind, secret))

    def _check_once(self, kind: str, secret: str) -> Principal | AuthFailure:
        now = self.clock()
        with transaction(self.engine) as connection:
            if kind == "session":
                return session_principal(connection, secret, settings=self.settings, now=now)
            if kind == "bearer" and secret.startswith(API_TOKEN_PREFIX):
                return token_principal(connection, secret, now=now)
            if kind == "bearer" and self.settings.oidc_issuer:
                return self._jwt_principal(connection, secret)
        return AuthFailure("invalid_token")

    def _jwt_principal(self, connection: Connection, token: str) -> Principal | AuthFailure:
        settings = self.settings
        try:
            claims = verify_jwt(
                token,
                keys=self.jwks,
                jwks_url=settings.oidc_jwks_url or f"{settings.oidc_issuer}/.well-known/jwks.json",
                issuers=[settings.oidc_issuer or ""],
                audience=settings.oidc_audience or "",
                algorithms=settings.oidc_algorithms,
            )
        except TokenRejected as rejected:
            logger.info("bearer JWT rejected", extra={"reason": rejected.reason})
            return AuthFailure("expired_token" if rejected.reason == "expired" else "invalid_token")
        identity = claims.get(settings.oidc_user_claim)
        row = connection.execute(
            select(users.c.id, users.c.is_active).where(func.lower(users.c.email) == str(identity).lower())
        ).one_or_none()
        if row is None:
            return AuthFailure("unknown_user")
        if not row.is_active:
            return AuthFailure("inactive_user")
        held = connection.scalars(select(user_permissions.c.permission).where(user_permissions.c.user_id == row.id))
        return Principal(
            row.id,
            _scopes(claims, settings.oidc_scope_claim) & frozenset(held),
            "jwt",
            str(claims.get("jti") or claims["sub"]),
        )


def _scopes(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    value = claims.get(claim, "")
    return frozenset(value.split() if isinstance(value, str) else (str(item) for item in value))


def _request_context(event: Mapping[str, Any]) -> RequestContext:
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    return RequestContext(
        request_id=str(context.get("requestId", "")),
        source_ip=viewer_address(http.get("sourceIp"), event.get("headers")),
        user_agent=http.get("userAgent"),
    )
