"""HTTP entry point of the payment function: payment methods and payments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from payment_api.routes import payment_methods, payments
from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = create_app("payment")
for routes in (payment_methods, payments):
    app.include_router(routes.router)


snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
