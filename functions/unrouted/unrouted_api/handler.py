"""Entry point of the HTTP API's `$default` route: the requests no other route serves.

API Gateway sends here whatever matches no route key: a path the API does not have (404
`route_not_found`) or one it has, with another method (405 `method_not_allowed`, with `Allow`).
Both in the error envelope every other answer uses, so a client reads one error shape.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from payreq import snapstart
from payreq.http.envelope import error_response
from payreq.observability import instrument
from unrouted_api.route_table import methods_for

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError
    from aws_lambda_powertools.utilities.typing import LambdaContext

# No routes of its own: every request reaches the not-found handler.
app = APIGatewayHttpResolver()


@app.not_found
def unrouted(_: NotFoundError) -> Response[Any]:
    event = app.current_event
    request_id = event.request_context.request_id
    methods = methods_for(event.path)
    if methods:
        return error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"{event.path} answers {', '.join(methods)}, not {event.request_context.http.method}.",
            request_id=request_id,
            headers={"Allow": ", ".join(methods)},
        )
    return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "No such route.", request_id=request_id)


snapstart.register(database=False)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
