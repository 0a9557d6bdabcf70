"""HTTP entry point of the auth function: sign-in, sessions, API tokens, users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from auth_api.routes import sign_in, tokens, users
from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument
from payreq.settings import auth_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Validated at cold start: in prod, a configured test-login token stops the function here.
auth_settings()

app = create_app("auth")
for routes in (sign_in, tokens, users):
    app.include_router(routes.router)


snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
