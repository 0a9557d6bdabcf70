"""Entry point for the WebSocket API's routes ($connect, $disconnect, subscribe, unsubscribe, ping).

Connections are refused until they can be authenticated (session cookie or a single-use ticket);
`ping` already answers, so clients and the local gateway can check the route wiring.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_websocket_event import APIGatewayWebSocketEvent

from payreq.observability import instrument, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@event_source(data_class=APIGatewayWebSocketEvent)
def lambda_handler(event: APIGatewayWebSocketEvent, context: LambdaContext) -> dict[str, Any]:
    route = event.request_context.route_key
    if route == "$connect":
        logger.info("connection refused: WebSocket authentication is not available yet")
        return {"statusCode": 401}
    if route == "ping":
        return {"statusCode": 200, "body": json.dumps({"type": "pong"})}
    return {"statusCode": 200}
