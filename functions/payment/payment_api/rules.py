"""The rules of payments that need no database: what recording and voiding a payment may start
from, and what each does to its payment request's status."""

from __future__ import annotations

from typing import Literal

from payreq.db.schema import PR_STATUSES
from payreq.errors import Conflict, detail

Event = Literal["record", "settle", "void"]
"""`record` a payment that leaves some of the amount outstanding, `settle` with one that pays the
rest, `void` a payment."""

# What each event does to its payment request's status: from -> to. A status missing from an
# event's row refuses the event (409 invalid_transition). Only an approved request is paid; voiding
# is allowed whatever the request became since (cancelled, edited back to pending), and takes a
# paid request back to approved, as there is something outstanding again.
REQUEST_MOVES: dict[Event, dict[str, str]] = {
    "record": {"approved": "approved"},
    "settle": {"approved": "paid"},
    "void": {**{status: status for status in PR_STATUSES}, "paid": "approved"},
}


def request_status_after(event: Event, status: str) -> str:
    """The request's status once `event` happened to one of its payments."""
    moves = REQUEST_MOVES[event]
    if status not in moves:
        raise Conflict(
            f"Only approved payment requests can be paid; this one is {status}.",
            code="invalid_transition",
            details=[detail("paymentRequestId", f"the request is {status}", "invalid_transition")],
        )
    return moves[status]


def ensure_live(voided: bool) -> None:
    """A payment is voided once: voiding a void payment is refused, not repeated."""
    if voided:
        raise Conflict("This payment is already void.", code="already_voided")
