"""Who the caller is (from the API Gateway authorizer's context) and what they may do.

The HTTP API's Lambda authorizer authenticates every non-public route and hands the function
`userId`, `permissions` (space separated, like an OAuth `scope`) and `authMethod`. Each route then
declares the permission it needs with `authorize("pr.approve")`: 401 without a user, 403 without
the permission, and either denial is recorded as a security event.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from payreq.audit import record_security_event_now
from payreq.context import AuthMethod, RequestContext
from payreq.db.engine import get_engine
from payreq.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

    Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]

_CONTEXT_KEY = "payreq_request_context"
_AUTH_METHODS: frozenset[str] = frozenset({"session", "api_token", "jwt", "system"})


def request_context(app: APIGatewayHttpResolver) -> RequestContext:
    """The caller of the request being resolved, read once from the event."""
    cached = app.context.get(_CONTEXT_KEY)
    if cached is None:
        cached = context_from_event(app)
        app.append_context(**{_CONTEXT_KEY: cached})
    return cast("RequestContext", cached)


def context_from_event(app: APIGatewayHttpResolver) -> RequestContext:
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
        source_ip=http.source_ip,
        user_agent=http.user_agent,
    )


def authorize(permission: str) -> Middleware:
    """Route middleware: `@app.post("/api/v1/prs/<id>/approve", middlewares=[authorize("pr.approve")])`."""

    def guard(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        context = request_context(app)
        if not context.authenticated:
            _deny(app, context, permission, "unauthenticated")
            raise Unauthenticated("Sign in, or send a bearer token.")
        if not context.can(permission):
            _deny(app, context, permission, "missing_permission")
            raise Forbidden(f"This needs the '{permission}' permission.", details={"permission": permission})
        return next_middleware(app)

    guard.required_permission = permission  # type: ignore[attr-defined]  # read by the authorization matrix
    return guard


def _deny(app: APIGatewayHttpResolver, context: RequestContext, permission: str, reason: str) -> None:
    event = app.current_event
    record_security_event_now(
        get_engine(),
        context,
        "access_denied",
        {"permission": permission, "reason": reason, "route": f"{event.http_method} {event.path}"},
    )
