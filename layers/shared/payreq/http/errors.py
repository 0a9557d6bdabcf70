"""One mapping from exceptions to the error envelope, registered on every function's resolver.

Internal errors never leak details to the client; the log has them under the same request id.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic.alias_generators import to_camel
from sqlalchemy.exc import DBAPIError, InterfaceError

from payreq.errors import ErrorDetail, Forbidden, PayreqError, detail
from payreq.http.envelope import error_response
from payreq.http.guard import record_denial
from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response


def validation_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    """pydantic's errors as the client needs them: which field (a camelCase path), what is wrong."""
    return [
        detail(
            # A field the model does not know is named as the client spelled it.
            field_path(_location(error), camel=error.get("type") != "extra_forbidden"),
            str(error.get("msg")),
            str(error.get("type")),
        )
        for error in errors
    ]


def _location(error: Any) -> tuple[str | int, ...]:
    # A model validator names the field it complains about (`payreq.http.models.field_error`).
    named = (error.get("ctx") or {}).get("field")
    return (*(error.get("loc") or ()), *([named] if named else []))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(location: Sequence[str | int], *, camel: bool = True) -> str | None:
    """`("body", "services", 0, "unit_price")` as `services[0].unitPrice`: the path a TypeScript
    client writes. The first part says where (body, query, path, header) and is left out."""
    path = ""
    for part in location[1:]:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        name = to_camel(part) if camel and _IDENTIFIER.match(part) else part
        path += ("." if path else "") + name
    return path or None


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    def request_id() -> str | None:
        return app.current_event.request_context.request_id

    def answer(status: int, code: str, message: str, details: Sequence[ErrorDetail] = ()) -> Response[Any]:
        return error_response(status, code, message, request_id=request_id(), details=details)

    @app.exception_handler(PayreqError)
    def domain_error(error: PayreqError) -> Response[Any]:
        if isinstance(error, Forbidden) and not error.audited:
            record_denial(app, error.code)
        return answer(error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        details = validation_details(error.errors())
        return answer(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "The request is not valid.", details)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_media_type(error: RequestUnsupportedContentType) -> Response[Any]:
        return answer(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send the request body as application/json."
        )

    @app.exception_handler(ServiceError)
    def service_error(error: ServiceError) -> Response[Any]:
        # Powertools raises NotFoundError for a path or method no route serves.
        if isinstance(error, NotFoundError):
            return answer(HTTPStatus.NOT_FOUND, "route_not_found", "No such route.")
        status = HTTPStatus(error.status_code)
        return answer(status, status.phrase.lower().replace(" ", "_"), str(error.msg))

    @app.exception_handler(DBAPIError)
    def database_error(error: DBAPIError) -> Response[Any]:
        refused = CLIENT_DATA_ERRORS.get(sqlstate(error) or "")
        if refused is not None:
            # The client's value, which validation let through, is one PostgreSQL cannot store or
            # compare: the request is at fault, not the service.
            logger.info("database refused a value", extra={"sqlstate": sqlstate(error)})
            return answer(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", refused)
        logger.exception("database error")
        if error.connection_invalidated or isinstance(error, InterfaceError):
            # The connection was lost or could not be made. The pool has dropped it; the next
            # request gets a new one.
            return error_response(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "database_unavailable",
                "The database is briefly unavailable; retry the request.",
                request_id=request_id(),
                headers={"Retry-After": "1"},
            )
        return internal_error_response(request_id())

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return internal_error_response(request_id())


# SQLSTATEs of values PostgreSQL refuses whatever the code does with them.
CLIENT_DATA_ERRORS = {
    "22021": "Text may not contain the NUL character (\\u0000) or bytes that are not UTF-8.",
    "22P05": "Text may not contain the NUL character (\\u0000) or bytes that are not UTF-8.",
    "22003": "A number is out of the range this field can hold.",
}


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a pg8000 error (its first argument is the server's error fields)."""
    fields = error.orig.args[0] if error.orig is not None and error.orig.args else None
    return fields.get("C") if isinstance(fields, dict) else None


def internal_error_response(request_id: str | None) -> Response[Any]:
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        "An unexpected error occurred. Quote the request id when reporting it.",
        request_id=request_id,
    )
