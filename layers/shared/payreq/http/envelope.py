"""The error envelope every failure is answered with:

{"error": {"code", "message", "details", "timestamp", "requestId"}}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import ConfigDict, Field

from payreq.http.models import ApiModel


class ErrorBody(ApiModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable and machine-readable, e.g. `validation_error`, `not_requester`.")
    message: str
    details: Any = Field(description="What the code needs said: the invalid fields, the missing permission...")
    timestamp: datetime
    request_id: str | None = Field(description="Quote it when reporting a problem: the logs have it.")


class ErrorEnvelope(ApiModel):
    """The body of every 4xx and 5xx answer (its schema in the OpenAPI document)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


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
