"""Domain exceptions. Flows raise these; `payreq.http.errors` maps each to the error envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

if TYPE_CHECKING:
    from collections.abc import Sequence


class ErrorDetail(TypedDict):
    """One problem with a request, as the envelope's `details` list carries it."""

    field: str | None  # the input at fault, as a camelCase path (`services[0].amount`); None: the request as a whole
    message: str
    code: str


def detail(field: str | None, message: str, code: str) -> ErrorDetail:
    return ErrorDetail(field=field, message=message, code=code)


def stale_version(current: int, *, material_version: int | None = None) -> ErrorDetail:
    """The 412 detail: what `If-Match` should have said (the ETag of the current version)."""
    since = "" if material_version is None else f"; its terms changed at version {material_version}"
    return detail("If-Match", f'the current version is "{current}"{since}', "stale_version")


def must_exist[T](found: T | None, message: str) -> T:
    """`found`, or a 404 with `message` when there is none."""
    if found is None:
        raise NotFound(message)
    return found


def ensure_version(current: int, version: int, message: str) -> None:
    """412 with the current version in its detail unless the client changes what it read (`version`,
    from `If-Match`)."""
    if current != version:
        raise PreconditionFailed(message, details=[stale_version(current)])


class PayreqError(Exception):
    """Base of every error a client is meant to see: a status, a stable code, a message and the
    problems it found (`details`, possibly none). A kind of error names its status and code where
    it is declared: `class NotFound(PayreqError, status=404, code="not_found")`."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, code: str | None = None, details: Sequence[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[ErrorDetail] = list(details)
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may refine its class's code


class BadRequest(PayreqError, status=400, code="bad_request"):
    """The request cannot be read as it was sent (a malformed body, header or parameter)."""


class Unauthenticated(PayreqError, status=401, code="unauthenticated"):
    """No credential, or one that no longer admits its requests."""


class Forbidden(PayreqError, status=403, code="forbidden"):
    """The caller may not do this (a missing permission, a maker approving their own request)."""

    def __init__(
        self, message: str, *, code: str | None = None, details: Sequence[ErrorDetail] = (), audited: bool = False
    ) -> None:
        super().__init__(message, code=code, details=details)
        # Every refusal is a security event: the guard records its own (audited=True); the error
        # handler records those a flow raises (not the requester, not an approver of this step).
        self.audited = audited


class NotFound(PayreqError, status=404, code="not_found"):
    """No such thing, or none the caller may see."""


class Conflict(PayreqError, status=409, code="conflict"):
    """The change does not fit the state the thing is in (a transition, a duplicate)."""


class PreconditionFailed(PayreqError, status=412, code="precondition_failed"):
    """`If-Match` names a version that is no longer the current one (see `ensure_version`)."""


class InvalidInput(PayreqError, status=422, code="validation_error"):
    """The request reads well but asks for something invalid; `details` says what, field by field."""


class PreconditionRequired(PayreqError, status=428, code="precondition_required"):
    """A change sent without the `If-Match` it needs."""


class ServiceUnavailable(PayreqError, status=503, code="service_unavailable"):
    """Something the request depends on is not answering; the client may try again."""
