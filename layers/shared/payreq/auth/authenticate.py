"""From an incoming request's credentials to the authorizer context the functions read.

The authorizer authenticates; it never refuses. A request with no credential, or a bad one, goes
on with an empty context (or `authError`), and the route's `authorize(...)` answers 401/403 in
the error envelope and audits it. Refusing here would make API Gateway answer its own
`{"message": "Forbidden"}`, outside the envelope, and unaudited.

Sessions and API tokens are looked up on every request (one statement on a unique index, joined
to the user and their permissions): signing out, revoking a token, disabling a user or removing a
permission takes effect on the next request in every warm container, which a per-container cache
cannot do. Only a JWT's signature check (CPU, and the issuer's keys) is reused for a while; the
user it names is still looked up every time. `bench/authorizer.py` measures what this costs.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from payreq.audit import record_security_event_now
from payreq.auth.api_tokens import token_principal
from payreq.auth.credentials import API_TOKEN_PREFIX, fingerprint
from payreq.auth.identities import LinkRefused, ProvenIdentity, bound_user, link_by_email
from payreq.auth.jwt import IssuerDiscovery, JwksCache, TokenRejected, verify_jwt
from payreq.auth.principal import UNAVAILABLE, AuthFailure, Principal
from payreq.auth.sessions import cookie_value, session_principal
from payreq.auth.users import permissions_of
from payreq.context import RequestContext
from payreq.db import read_connection, repeat_if_connection_lost
from payreq.db.schema import users
from payreq.denials import Denial, record_denial_now
from payreq.edge import viewer_address
from payreq.observability import logger

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import Connection, Engine

    from payreq.settings import AuthSettings


@dataclass
class VerifiedTokens:
    """Claims of JWTs whose signature, issuer, audience and expiry verified, reused for `ttl` seconds
    (never past the token's own `exp`) by a warm container: verifying a signature costs more than
    the lookup that follows it. Revocation does not depend on this: the user is looked up anyway."""

    ttl: float
    _entries: dict[bytes, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def get(self, key: bytes) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: bytes, claims: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        remaining = float(claims.get("exp", 0)) - time.time()
        self._entries[key] = (time.monotonic() + min(self.ttl, remaining), claims)

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Authenticator:
    engine: Engine
    settings: AuthSettings
    jwks: JwksCache = field(default_factory=JwksCache)
    discovery: IssuerDiscovery = field(default_factory=IssuerDiscovery)
    verified: VerifiedTokens | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.verified is None:
            self.verified = VerifiedTokens(self.settings.cache_seconds)

    def context_for(self, event: Mapping[str, Any]) -> dict[str, str]:
        """The authorizer context for an API Gateway (payload 2.0) request or authorizer event."""
        credential = self._credential(event)
        if credential is None:
            return {}
        kind, secret = credential
        try:
            result = self.check(kind, secret, _request_context(event))
        except DBAPIError:
            logger.exception("credential check failed: database unavailable")
            return {"authError": UNAVAILABLE}
        if isinstance(result, AuthFailure):
            denial = Denial("bad_token", result.reason, _route(event), {"credential": kind, "reason": result.reason})
            record_denial_now(self.engine, _request_context(event), denial)
            return {"authError": result.reason}
        return result.authorizer_context()

    def check(self, kind: str, secret: str, context: RequestContext | None = None) -> Principal | AuthFailure:
        """The credential's principal as the database says now, or why there is none. `context` is the
        request's, for the security event of a JWT identity linked on its first use."""
        # Every request passes here first: a warm authorizer whose pooled connection died (a proxy
        # failover, an idle disconnect) checks again on a fresh one rather than failing the request.
        return repeat_if_connection_lost(lambda: self._check_once(kind, secret, context))

    def _check_once(self, kind: str, secret: str, context: RequestContext | None) -> Principal | AuthFailure:
        now = self.clock()
        if kind == "bearer" and not secret.startswith(API_TOKEN_PREFIX):
            if not self.settings.oidc_issuer:
                return AuthFailure("invalid_token")
            return self._jwt_principal(secret, now, context or RequestContext(request_id=""))
        # Autocommit: the lookup is one statement (and a sliding-expiry touch at most once a minute).
        with read_connection(self.engine) as connection:
            if kind == "session":
                return session_principal(connection, secret, settings=self.settings, now=now)
            if kind == "bearer":
                return token_principal(connection, secret, now=now)
        return AuthFailure("invalid_token")

    def _credential(self, event: Mapping[str, Any]) -> tuple[str, str] | None:
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            return ("bearer", token.strip()) if scheme.lower() == "bearer" else ("unsupported", authorization)
        session = cookie_value(event.get("cookies"), self.settings.session_cookie)
        return ("session", session) if session else None

    def _jwt_principal(self, token: str, now: datetime, context: RequestContext) -> Principal | AuthFailure:
        assert self.verified is not None
        key = fingerprint(token)
        claims = self.verified.get(key)
        if claims is None:
            try:
                claims = self._verify(token)
            except TokenRejected as rejected:
                logger.info("bearer JWT rejected", extra={"reason": rejected.reason})
                return AuthFailure("expired_token" if rejected.reason == "expired" else "invalid_token")
            self.verified.put(key, claims)
        identity = ProvenIdentity.from_claims(claims)
        linked = False
        with read_connection(self.engine) as connection:
            user_id = bound_user(connection, identity)
            if user_id is None:
                user_id = self._link(connection, identity, now)
                linked = user_id is not None
            if user_id is None:
                return AuthFailure("unknown_identity")
            row = connection.execute(
                select(users.c.is_active, permissions_of(users.c.id).label("permissions")).where(users.c.id == user_id)
            ).one()
        if linked:
            # After the lookup's connection is back in the pool: a container holds only one.
            record_security_event_now(
                self.engine,
                dataclasses.replace(context, user_id=user_id),
                "identity_linked",
                {"issuer": identity.issuer, "subject": identity.subject, "email": identity.email},
            )
        if not row.is_active:
            return AuthFailure("inactive_user")
        return Principal(
            user_id,
            _scopes(claims, self.settings.oidc_scope_claim) & frozenset(row.permissions or ()),
            "jwt",
            str(claims.get("jti") or claims["sub"]),
        )

    def _verify(self, token: str) -> dict[str, Any]:
        settings = self.settings
        issuer = settings.oidc_issuer or ""
        return verify_jwt(
            token,
            keys=self.jwks,
            jwks_url=settings.oidc_jwks_url or self.discovery.jwks_url(issuer),
            issuers=[issuer],
            audience=settings.oidc_audience or "",
            algorithms=settings.oidc_algorithms,
        )

    def _link(self, connection: Connection, identity: ProvenIdentity, now: datetime) -> uuid.UUID | None:
        """A first JWT of a new `(issuer, sub)`: bound to the user with its email only when the
        address is verified and linking is enabled for the issuer; None (refused) otherwise."""
        try:
            return link_by_email(
                connection, identity, linking_enabled=self.settings.links_by_email(identity.issuer), now=now
            )
        except LinkRefused as refused:
            logger.info("JWT identity not linked", extra={"reason": refused.reason, "issuer": identity.issuer})
            return None


def _scopes(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    value = claims.get(claim, "")
    return frozenset(value.split() if isinstance(value, str) else (str(item) for item in value))


def _route(event: Mapping[str, Any]) -> str:
    context = event.get("requestContext") or {}
    key = context.get("routeKey")
    if key and key != "$default":
        return str(key)
    http = context.get("http") or {}
    return f"{http.get('method', '')} {http.get('path', '')}".strip() or "unknown"


def _request_context(event: Mapping[str, Any]) -> RequestContext:
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    return RequestContext(
        request_id=str(context.get("requestId", "")),
        source_ip=viewer_address(http.get("sourceIp"), event.get("headers")),
        user_agent=http.get("userAgent"),
    )
