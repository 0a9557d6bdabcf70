"""The resolver every HTTP function uses, with the conventions already wired in."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from payreq.http.errors import register_error_handlers
from payreq.http.guard import csrf_protection
from payreq.http.health import health_router


def create_app(function: str) -> APIGatewayHttpResolver:
    """A resolver for the named function: validation on, the error envelope, CSRF protection for
    cookie-authenticated writes, and its health route."""
    # Validation makes route signatures (pydantic bodies, typed query and path parameters) both the
    # request check and the OpenAPI document.
    app = APIGatewayHttpResolver(enable_validation=True)
    register_error_handlers(app)
    app.use(middlewares=[csrf_protection])
    app.include_router(health_router(function))
    return app
