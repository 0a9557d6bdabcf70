"""The payment state machine, every request status x every payment event: what recording a payment
(part of the amount, or the rest of it) and voiding one may start from, and the request status each
leaves; and that a payment is voided once.

The table below is the specification, written out here on its own rather than read from `rules`,
so a change to the rules must change it too."""

from __future__ import annotations

import itertools

import pytest

from payment_api import rules
from payreq.db.schema import PR_STATUSES
from payreq.errors import Conflict

EVENTS = ("record", "settle", "void")
# (request status, payment event) -> the request's status after it. Anything not listed is refused:
# only an approved request is paid; a void is allowed whatever became of the request, and gives back
# to a paid one what it still owes.
MOVES: dict[tuple[str, str], str] = {
    ("approved", "record"): "approved",
    ("approved", "settle"): "paid",
    ("draft", "void"): "draft",
    ("pending", "void"): "pending",
    ("approved", "void"): "approved",
    ("paid", "void"): "approved",
    ("rejected", "void"): "rejected",
    ("cancelled", "void"): "cancelled",
}
CASES = list(itertools.product(PR_STATUSES, EVENTS))


def test_the_rules_know_every_event_and_no_other() -> None:
    assert set(rules.REQUEST_MOVES) == set(EVENTS)


@pytest.mark.parametrize(("status", "event"), CASES, ids=lambda value: str(value))
def test_event_from_status(status: str, event: rules.Event) -> None:
    # Given a payment request in `status`
    expected = MOVES.get((status, event))

    if expected is not None:
        # When the event happens, Then the request moves where the table says
        assert rules.request_status_after(event, status) == expected
        return
    # When the event is tried, Then it is refused as an invalid transition, naming the status
    with pytest.raises(Conflict) as refused:
        rules.request_status_after(event, status)
    assert refused.value.code == "invalid_transition"
    assert refused.value.details == [
        {"field": "paymentRequestId", "message": f"the request is {status}", "code": "invalid_transition"}
    ]


def test_paying_then_voiding_takes_a_request_from_approved_to_paid_and_back() -> None:
    # Given an approved request, When a payment settles it and is then voided
    paid = rules.request_status_after("settle", "approved")
    reopened = rules.request_status_after("void", paid)

    # Then it was paid, and is approved (payable) again
    assert (paid, reopened) == ("paid", "approved")


def test_a_paid_request_takes_no_further_payment() -> None:
    with pytest.raises(Conflict, match="Only approved payment requests can be paid; this one is paid"):
        rules.request_status_after("record", "paid")


@pytest.mark.parametrize("voided", [False, True])
def test_a_payment_is_voided_once(voided: bool) -> None:
    # Given a live or a void payment, When it is voided
    if not voided:
        rules.ensure_live(voided)
        return
    # Then a void one is refused, not voided again
    with pytest.raises(Conflict) as refused:
        rules.ensure_live(voided)
    assert refused.value.code == "already_voided"
