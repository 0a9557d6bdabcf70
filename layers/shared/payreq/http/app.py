"""The resolver every HTTP function uses, with the conventions already wired in."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.logging import correlation_paths
from pydantic_core import to_json

from payreq import snapstart
from payreq.errors import BadRequest, detail
from payreq.http.errors import register_error_handlers
from payreq.http.guard import check_csrf, route_permission_check
from payreq.http.health import health_router
from payreq.observability import instrument

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.event_handler.api_gateway import Response, Router
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.event_handler.types import EventHandlerInstance
    from aws_lambda_powertools.utilities.typing import LambdaContext


class AuthorizedValidation(OpenAPIRequestValidationMiddleware):
    """Request validation that first asks who is calling and whether the request is cross-site,
    and refuses bodies it cannot parse as the client's mistake (400 `invalid_json`).

    Powertools always runs request validation before any route middleware, so a caller without
    credentials, without the route's permission, or on another site's page would be told what a
    valid body looks like (422) instead of being refused (401/403), and the denial never audited.
    """

    def _parse_json_data(self, app: EventHandlerInstance) -> dict[str, Any]:
        try:
            return cast("dict[str, Any]", app.current_event.json_body)
        except json.JSONDecodeError as error:
            raise _invalid_json(f"{error.msg} (line {error.lineno}, column {error.colno}).") from None
        except UnicodeDecodeError:
            raise _invalid_json("The body is not UTF-8 encoded.") from None
        except RecursionError:
            raise _invalid_json("The body is nested too deeply.") from None

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        # Every Payreq function serves an HTTP API (payload 2.0).
        http_app = cast("APIGatewayHttpResolver", app)
        route_permission_check(http_app, app.context["_route"].middlewares)
        check_csrf(http_app)
        return super().handler(app, next_middleware)


def _json_text(body: Any) -> str:
    """A response body as JSON text, written by pydantic-core (Rust) rather than `json.dumps`: a
    page of 50 requests is ~40 KB of it. Compact, like Powertools' own; non-ASCII stays UTF-8."""
    return to_json(body).decode()


def _invalid_json(problem: str) -> BadRequest:
    return BadRequest(
        "The request body is not valid JSON.", code="invalid_json", details=[detail(None, problem, "invalid_json")]
    )


def http_function(
    function: str, *routers: Router
) -> tuple[APIGatewayHttpResolver, Callable[[dict[str, Any], LambdaContext], dict[str, Any]]]:
    """A function's HTTP entry point: its resolver with `routers` included in the order given (the
    first route that matches a path serves it), its SnapStart hooks registered, and the Lambda
    handler that resolves each event behind the entry points' decorator stack.

    The handler module keeps both as module attributes (`app, lambda_handler = http_function(...)`):
    the template names `handler.lambda_handler`, the OpenAPI export and the tests read `app`."""
    app = create_app(function)
    for router in routers:
        app.include_router(router)
    snapstart.register(app)

    @instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return app, lambda_handler


def create_app(function: str) -> APIGatewayHttpResolver:
    """A resolver for the named function: validation on (after the caller's permission and the
    CSRF check for cookie-authenticated writes), the error envelope, and its health route."""
    # Validation makes route signatures (pydantic bodies, typed query and path parameters) both the
    # request check and the OpenAPI document.
    app = APIGatewayHttpResolver(enable_validation=True, serializer=_json_text)
    # Powertools reads this attribute when it builds each route's middleware stack.
    app._request_validation_middleware = AuthorizedValidation()
    register_error_handlers(app)
    app.include_router(health_router(function))
    return app
