"""HTTP entry point of the webhooks function: subscriptions, their delivery logs and replays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument
from webhooks_api.routes import deliveries, subscriptions

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = create_app("webhooks")
for routes in (subscriptions, deliveries):
    app.include_router(routes.router)
snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
