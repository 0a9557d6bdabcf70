"""The HTTP API's Lambda authorizer (payload 2.0, simple responses).

Until sign-in lands (sessions, API tokens, bearer JWTs) there is no credential it can accept, so it
refuses every request: a deployed stack is closed by default, never open. Public routes (health,
and later /auth/*) do not pass through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)

from payreq.observability import instrument, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrument()
@event_source(data_class=APIGatewayAuthorizerEventV2)
def lambda_handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    logger.info("request refused: no credential kind is accepted yet", extra={"route": event.route_key})
    return APIGatewayAuthorizerResponseV2(authorize=False).asdict()
