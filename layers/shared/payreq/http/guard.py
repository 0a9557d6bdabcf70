"""Who the caller is (from the API Gateway authorizer's context) and what they may do.

The HTTP API's Lambda authorizer authenticates every non-public route and hands the function
`userId`, `permissions` (space separated, like an OAuth `scope`) and `authMethod`. Each route then
declares the permission it needs with `authorize("pr.approve")`: 401 without a user, 403 without
the permission, and either denial is recorded as a security event.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from payreq.auth.current import current_permissions
from payreq.auth.principal import FAILURE_MESSAGES, UNAVAILABLE, AuthFailure
from payreq.context import AuthMethod, RequestContext
from payreq.db.engine import get_engine
from payreq.db.transaction import read_connection
from payreq.denials import Denial, record_denial_now
from payreq.edge import viewer_address
from payreq.errors import Forbidden, ServiceUnavailable, Unauthenticated, detail
from payreq.settings import auth_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]


class HttpScope(Protocol):
    """What a route sees of the request being resolved: a resolver, or a Router included in one."""

    @property
    def current_event(self) -> APIGatewayProxyEventV2: ...

    @property
    def context(self) -> dict[str, Any]: ...

    def append_context(self, **additional_context: Any) -> None: ...


_CONTEXT_KEY = "payreq_request_context"
_RECHECKED_KEY = "payreq_credential_rechecked"
_AUTH_METHODS: frozenset[str] = frozenset({"session", "api_token", "jwt", "system"})


def request_context(app: HttpScope) -> RequestContext:
    """The caller of the request being resolved, read once from the event."""
    cached = app.context.get(_CONTEXT_KEY)
    if cached is None:
        cached = context_from_event(app)
        app.append_context(**{_CONTEXT_KEY: cached})
    return cast("RequestContext", cached)


def context_from_event(app: HttpScope) -> RequestContext:
    event = app.current_event
    http = event.request_context.http
    claims = event.request_context.authorizer.get_lambda
    user_id: uuid.UUID | None
    try:
        user_id = uuid.UUID(str(claims["userId"]))
    except (KeyError, ValueError):
        user_id = None
    method = claims.get("authMethod")
    return RequestContext(
        request_id=event.request_context.request_id,
        user_id=user_id,
        permissions=frozenset(str(claims.get("permissions", "")).split()) if user_id else frozenset(),
        auth_method=cast("AuthMethod", method) if method in _AUTH_METHODS else None,
        source_ip=viewer_address(http.source_ip, event.headers),
        user_agent=http.user_agent,
        auth_error=claims.get("authError"),
        credential_id=claims.get("credentialId") if user_id else None,
    )


def authorize(permission: str | None, *, recheck: bool = False) -> Middleware:
    """Route middleware: `@app.post("/api/v1/prs/<id>/approve", middlewares=[authorize("pr.approve")])`.

    `authorize(None)` admits any signed-in caller (e.g. `GET /api/v1/me`). `recheck=True` is for
    routes that mint credentials or change security state: the credential is looked up again, in
    this function, by its id (`payreq.auth.current`), whatever the authorizer's answer was.
    """

    def guard(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        check_caller(app, permission)
        if recheck:
            check_credential_now(app, permission)
        return next_middleware(app)

    guard.recheck = recheck  # type: ignore[attr-defined]  # read by route_permission_check
    guard.required_permission = permission  # type: ignore[attr-defined]  # read by AuthorizedValidation and the authorization matrix
    return guard


def check_caller(app: HttpScope, permission: str | None) -> None:
    """401 without a user, 403 without `permission`; either denial recorded as a security event."""
    context = request_context(app)
    if not context.authenticated:
        if context.auth_error == UNAVAILABLE:
            raise ServiceUnavailable("Sign-in is briefly unavailable; retry the request.")
        record_denial(app, context.auth_error or "unauthenticated", permission)
        message = FAILURE_MESSAGES.get(context.auth_error or "", "Sign in, or send a bearer token.")
        # An identity no user is bound to has its own code: the client should not just retry a sign-in.
        raise Unauthenticated(message, code="unknown_identity" if context.auth_error == "unknown_identity" else None)
    if permission is not None and not context.can(permission):
        record_denial(app, "missing_permission", permission)
        raise Forbidden(
            f"This needs the '{permission}' permission.",
            details=[detail(None, f"needs {permission}", "missing_permission")],
            audited=True,
        )


def check_credential_now(app: HttpScope, permission: str | None) -> None:
    """401 when the credential is no longer valid, 403 when it no longer carries `permission`; the
    request then goes on with the permissions it has now."""
    if app.context.get(_RECHECKED_KEY):
        return  # once per request: before validation (route_permission_check), not again in the guard
    context = request_context(app)
    with read_connection(get_engine()) as connection:
        current = current_permissions(connection, context, now=datetime.now(UTC))
    if isinstance(current, AuthFailure):
        record_denial(app, current.reason, permission)
        raise Unauthenticated(current.message)
    if permission is not None and permission not in current:
        record_denial(app, "missing_permission", permission)
        raise Forbidden(
            f"This needs the '{permission}' permission.",
            details=[detail(None, f"needs {permission}", "missing_permission")],
            audited=True,
        )
    app.append_context(**{_CONTEXT_KEY: dataclasses.replace(context, permissions=current), _RECHECKED_KEY: True})


def route_permission_check(app: HttpScope, middlewares: list[Callable[..., Any]]) -> None:
    """Run the check of the route's `authorize(...)` guard, if it has one (see `AuthorizedValidation`)."""
    for middleware in middlewares:
        if hasattr(middleware, "required_permission"):
            check_caller(app, middleware.required_permission)
            if getattr(middleware, "recheck", False):
                check_credential_now(app, middleware.required_permission)
            return


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_csrf(app: HttpScope) -> None:
    """Cookie-authenticated writes must prove they come from our pages: a custom header (which a
    cross-site form cannot send, and a cross-site script cannot without passing CORS) or an allowed
    Origin. Bearer-token requests carry no ambient credential and are exempt."""
    if request_context(app).auth_method == "session" and app.current_event.http_method.upper() not in SAFE_METHODS:
        require_same_site(app)


def require_same_site(app: HttpScope) -> None:
    """Refuse (403, audited) a request that cannot show it comes from our own pages."""
    headers = app.current_event.headers
    if not headers.get("x-requested-with") and headers.get("origin") not in auth_settings().allowed_origins:
        record_denial(app, "csrf")
        raise Forbidden("Cross-site request refused: send X-Requested-With.", code="csrf_failed", audited=True)


def record_denial(app: HttpScope, reason: str, permission: str | None = None) -> None:
    """An `access_denied` security event for the request being resolved, in its own transaction,
    counted per source, reason, route and minute (`payreq.denials`)."""
    denial = Denial("access_denied", reason, route_key(app), {"permission": permission, "reason": reason})
    record_denial_now(get_engine(), request_context(app), denial)


def route_key(app: HttpScope) -> str:
    """The route as API Gateway matched it (`GET /api/v1/prs/{id}`), else the method and path."""
    event = app.current_event
    key = event.request_context.route_key
    return key if key and key != "$default" else f"{event.http_method} {event.path}"
