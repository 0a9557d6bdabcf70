"""WebSocket routes: accepts every connection, `ping` answers with the connection id (a two-way
route), and `{"action": "callback"}` answers through the management API, as the broadcaster will."""

from __future__ import annotations

import json
import os
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event["requestContext"]
    route = request["routeKey"]
    if route == "ping":
        return {"statusCode": 200, "body": json.dumps({"type": "pong", "connectionId": request["connectionId"]})}
    if route == "$default":
        message = json.loads(event.get("body") or "{}")
        if message.get("action") == "callback":
            import boto3

            management = boto3.client(
                "apigatewaymanagementapi", endpoint_url=os.environ["PAYREQ_WEBSOCKET_MANAGEMENT_URL"]
            )
            data = json.dumps({"type": "callback", "text": message.get("text")}).encode()
            management.post_to_connection(ConnectionId=request["connectionId"], Data=data)
    return {"statusCode": 200}
