"""The error envelope every failure is answered with:

{"error": {"code", "message", "details", "timestamp", "requestId"}}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import ConfigDict, Field

from payreq.http.models import ApiModel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payreq.errors import ErrorDetail


class ErrorDetailBody(ApiModel):
    model_config = ConfigDict(extra="forbid")

    field: str | None = Field(
        description="The input at fault as a camelCase path (`services[0].amount`, `limit`); null when the "
        "problem is the request as a whole."
    )
    message: str
    code: str = Field(description="Stable and machine-readable, e.g. `missing`, `greater_than`, `stale_version`.")


class ErrorBody(ApiModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable and machine-readable, e.g. `validation_error`, `not_requester`.")
    message: str
    details: list[ErrorDetailBody] = Field(description="Each problem found, possibly none.")
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
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": list(details),
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestId": request_id,
        }
    }
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)
