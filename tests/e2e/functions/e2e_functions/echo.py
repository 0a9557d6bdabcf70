"""HTTP: answers with the event and context it received (`?sleep=` waits, `?fail` raises)."""

from __future__ import annotations

import json
import os
import time
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    if "sleep" in query:
        time.sleep(float(query["sleep"]))
    if "fail" in query:
        raise RuntimeError("asked to fail")
    body = {
        "event": event,
        "context": {
            "functionName": context.function_name,
            "awsRequestId": context.aws_request_id,
            "remainingMs": context.get_remaining_time_in_millis(),
        },
        "pid": os.getpid(),
        "environment": {name: os.environ.get(name) for name in ("PAYREQ_STAGE", "AWS_ENDPOINT_URL_S3", "DATABASE_URL")},
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "cookies": ["echo=1; Path=/"],
        "body": json.dumps(body),
    }
