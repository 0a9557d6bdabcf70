"""HTTP: answers with the event and context it received (`?sleep=` waits, `?fail` raises, `?list=<bucket>`
lists a bucket and answers with what S3 said)."""

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
    if "list" in query:
        return _list_bucket(query["list"])
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


def _list_bucket(bucket: str) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import ClientError

    try:
        boto3.client("s3").list_objects_v2(Bucket=bucket, MaxKeys=1)
        outcome = "listed"
    except ClientError as error:
        outcome = error.response["Error"]["Code"]
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(outcome)}
