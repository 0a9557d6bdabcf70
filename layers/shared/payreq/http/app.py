"""The resolver every HTTP function uses, with the conventions already wired in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware

from payreq.errors import BadRequest
from payreq.http.errors import register_error_handlers
from payreq.http.guard import csrf_protection, route_permission_check
from payreq.http.health import health_router

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.event_handler.types import EventHandlerInstance


class AuthorizedValidation(OpenAPIRequestValidationMiddleware):
    """Request validation that first asks who is calling, and refuses bodies it cannot parse.

    Powertools always runs request validation before any route middleware, so a caller without
    credentials or without the route's permission would be told what a valid body looks like
    (422) instead of being refused (401/403), and the denial would never be audited.
    """

    def _get_body(self, app: EventHandlerInstance) -> dict[str, Any]:
        # Powertools decodes and parses the body here; what it cannot is the client's mistake.
        try:
            return super()._get_body(app)
        except UnicodeDecodeError:
            raise BadRequest("The request body is not UTF-8 encoded JSON.", code="invalid_body") from None
        except RecursionError:
            raise BadRequest("The request body is nested too deeply.", code="invalid_body") from None

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        # Every Payreq function serves an HTTP API (payload 2.0).
        route_permission_check(cast("APIGatewayHttpResolver", app), app.context["_route"].middlewares)
        return super().handler(app, next_middleware)


def create_app(function: str) -> APIGatewayHttpResolver:
    """A resolver for the named function: validation on, the error envelope, CSRF protection for
    cookie-authenticated writes, and its health route."""
    # Validation makes route signatures (pydantic bodies, typed query and path parameters) both the
    # request check and the OpenAPI document.
    app = APIGatewayHttpResolver(enable_validation=True)
    # Powertools reads this attribute when it builds each route's middleware stack.
    app._request_validation_middleware = AuthorizedValidation()
    register_error_handlers(app)
    app.use(middlewares=[csrf_protection])
    app.include_router(health_router(function))
    return app
