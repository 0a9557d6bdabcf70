"""The error envelope every failure is answered with:

{"error": {"code", "message", "details", "timestamp", "requestId"}}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestId": request_id,
        }
    }
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)
