"""Domain exceptions. Flows raise these; `payreq.http.errors` maps each to the error envelope."""

from __future__ import annotations

from typing import Any, ClassVar


class PayreqError(Exception):
    """Base of every error a client is meant to see: a status, a stable code and a message."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may refine its class's code


class BadRequest(PayreqError):
    status = 400
    code = "bad_request"


class Unauthenticated(PayreqError):
    status = 401
    code = "unauthenticated"


class Forbidden(PayreqError):
    status = 403
    code = "forbidden"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None, audited: bool = False) -> None:
        super().__init__(message, code=code, details=details)
        # Every refusal is a security event: the guard records its own (audited=True); the error
        # handler records those a flow raises (not the requester, not an approver of this step).
        self.audited = audited


class NotFound(PayreqError):
    status = 404
    code = "not_found"


class Conflict(PayreqError):
    status = 409
    code = "conflict"


class PreconditionFailed(PayreqError):
    status = 412
    code = "precondition_failed"


class InvalidInput(PayreqError):
    status = 422
    code = "validation_error"


class PreconditionRequired(PayreqError):
    status = 428
    code = "precondition_required"


class ServiceUnavailable(PayreqError):
    status = 503
    code = "service_unavailable"
