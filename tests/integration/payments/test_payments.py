"""Payments against approved requests: partial payments add up, nothing overpays, voids reverse."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from payment_api import flows
from payment_api.models import NewPayment
from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.engine import engine_from_url
from payreq.db.schema import payments
from payreq.errors import Conflict
from support.team import Team, decide, submitted

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from support.api_client import ApiResponse


def approved_request(team: Team, amount: str = "1000.00") -> str:
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.alice)], amount=amount)
    assert decide(team.alice, pr_id, "approve").body["status"] == "approved"
    return pr_id


def pay(team: Team, pr_id: str, amount: str, headers: dict[str, str] | None = None, **extra: Any) -> ApiResponse:
    return team.treasurer.browser.post(
        f"/api/v1/prs/{pr_id}/payments", json_body={"amount": amount, "currency": "EUR", **extra}, headers=headers
    )


def status_of(team: Team, pr_id: str) -> str:
    return str(team.requester.browser.get(f"/api/v1/prs/{pr_id}").body["status"])


def test_partial_payments_add_up_and_the_last_one_marks_the_request_paid(team: Team) -> None:
    pr_id = approved_request(team)

    first = pay(team, pr_id, "400.00", externalReference="SEPA-1")
    assert (first.status, first.body["paymentRequest"]["outstanding"]) == (201, "600.00")
    assert status_of(team, pr_id) == "approved"
    last = pay(team, pr_id, "600.00")

    assert last.body["paymentRequest"] == {
        "id": pr_id,
        "status": "paid",
        "amount": "1000.00",
        "paid": "1000.00",
        "outstanding": "0.00",
    }
    assert status_of(team, pr_id) == "paid"


def test_overpaying_is_refused(team: Team) -> None:
    pr_id = approved_request(team)
    pay(team, pr_id, "900.00")

    response = pay(team, pr_id, "100.01")

    assert (response.status, response.error_code) == (409, "overpayment")
    assert response.body["error"]["details"] == [
        {"field": "amount", "message": "at most 100.00 is outstanding", "code": "overpayment"}
    ]


@pytest.mark.parametrize("state", ["draft", "pending"])
def test_only_approved_requests_can_be_paid(team: Team, state: str) -> None:
    created = team.requester.browser.post(
        "/api/v1/prs",
        json_body={
            "title": "T",
            "payee": "ACME GmbH",
            "amount": "10.00",
            "currency": "EUR",
            "approvalFlow": [team.step("M", "anyof", team.alice)],
        },
    ).body
    if state == "pending":
        team.requester.browser.post(f"/api/v1/prs/{created['id']}/submit")

    response = pay(team, created["id"], "10.00")

    assert (response.status, response.error_code) == (409, "invalid_transition")


def test_voiding_a_payment_reverses_it_and_the_request_can_be_paid_again(team: Team) -> None:
    pr_id = approved_request(team)
    payment = pay(team, pr_id, "1000.00").body
    assert status_of(team, pr_id) == "paid"

    voided = team.treasurer.browser.post(
        f"/api/v1/payments/{payment['id']}/void", json_body={"reason": "bank returned it"}
    )
    again = team.treasurer.browser.post(f"/api/v1/payments/{payment['id']}/void", json_body={"reason": "twice"})

    assert (voided.status, voided.body["voidReason"], voided.body["paymentRequest"]["status"]) == (
        200,
        "bank returned it",
        "approved",
    )
    assert (again.status, again.error_code) == (409, "already_voided")
    assert pay(team, pr_id, "1000.00").status == 201
    assert status_of(team, pr_id) == "paid"


def test_approvals_cannot_be_withdrawn_once_a_payment_is_recorded(team: Team) -> None:
    pr_id = approved_request(team)
    pay(team, pr_id, "10.00")

    response = decide(team.alice, pr_id, "unapprove")

    assert (response.status, response.error_code) == (409, "payment_recorded")


def test_the_currency_must_be_the_requests(team: Team) -> None:
    pr_id = approved_request(team)

    response = team.treasurer.browser.post(
        f"/api/v1/prs/{pr_id}/payments", json_body={"amount": "10.00", "currency": "USD"}
    )

    assert (response.status, response.error_code) == (422, "currency_mismatch")


def test_two_payments_at_once_that_together_overpay_let_exactly_one_through(
    team: Team, engine: Engine, database_url: str
) -> None:
    # Given an approved request of 1,000 and two clerks each paying 600 at the same moment
    pr_id = approved_request(team)
    pool = engine_from_url(database_url, pool_size=2)
    context = RequestContext(request_id="race", user_id=uuid.UUID(team.treasurer.id))

    def pay_600(_: int) -> str:
        try:
            with transaction(pool) as connection:
                flows.record_payment(
                    connection,
                    context,
                    uuid.UUID(pr_id),
                    NewPayment(amount=Decimal("600.00"), currency="EUR"),
                    now=datetime.now(UTC),
                )
        except Conflict as refused:
            return refused.code
        return "paid"

    with ThreadPoolExecutor(max_workers=2) as threads:
        outcomes = sorted(threads.map(pay_600, range(2)))
    pool.dispose()

    # Then one is recorded and the other refused as an overpayment
    assert outcomes == ["overpayment", "paid"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.sum(payments.c.amount))) == Decimal("600.00")


def test_an_idempotency_key_replay_records_one_payment(team: Team, engine: Engine) -> None:
    pr_id = approved_request(team)

    first = pay(team, pr_id, "250.00", headers={"Idempotency-Key": "pay-250"})
    retry = pay(team, pr_id, "250.00", headers={"Idempotency-Key": "pay-250"})

    assert (first.status, retry.status, retry.body["id"]) == (201, 201, first.body["id"])
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(payments)) == 1


def test_payments_are_listed_newest_first_with_voided_ones_on_request(team: Team) -> None:
    pr_id = approved_request(team)
    kept, voided = pay(team, pr_id, "100.00").body, pay(team, pr_id, "200.00").body
    team.treasurer.browser.post(f"/api/v1/payments/{voided['id']}/void", json_body={"reason": "typo"})

    live = team.treasurer.browser.get("/api/v1/payments", query={"prId": pr_id}).body["items"]
    everything = team.treasurer.browser.get("/api/v1/payments", query={"prId": pr_id, "includeVoided": "true"})

    assert [p["id"] for p in live] == [kept["id"]]
    assert [p["id"] for p in everything.body["items"]] == [voided["id"], kept["id"]]


def an_invoice_linked_to_a_request(team: Team, signed_in: Any, *, verified: bool) -> tuple[str, str]:
    """A request for 1000.00 with a 1000.00 invoice linked (verified by someone else, or not), approved."""
    clerk = signed_in("ivy@example.com", ("invoice.read", "invoice.write"))
    invoice = clerk.post(
        "/api/v1/invoices", json_body={"number": "INV-7", "vendor": "ACME GmbH", "currency": "EUR", "total": "1000.00"}
    ).body
    if verified:
        verifier = signed_in("vera@example.com", ("invoice.read", "invoice.write", "invoice.verify"))
        checked = verifier.post(
            f"/api/v1/invoices/{invoice['id']}/status",
            json_body={"status": "verified"},
            headers={"If-Match": f'"{invoice["version"]}"'},
        )
        assert checked.status == 200, checked.body
    pr_id = team.requester.browser.post(
        "/api/v1/prs",
        json_body={
            "title": "Q4 hardware",
            "payee": "ACME GmbH",
            "amount": "1000.00",
            "currency": "EUR",
            "approvalFlow": [team.step("Manager", "anyof", team.alice)],
        },
    ).body["id"]
    linked = team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice["id"]})
    assert linked.status == 200, linked.body
    team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit")
    assert decide(team.alice, pr_id, "approve").body["status"] == "approved"
    return pr_id, invoice["id"]


def test_a_request_whose_invoice_nobody_verified_is_not_paid(team: Team, signed_in: Any, engine: Engine) -> None:
    pr_id, _ = an_invoice_linked_to_a_request(team, signed_in, verified=False)

    response = pay(team, pr_id, "1000.00")

    assert (response.status, response.error_code) == (409, "invoices_not_verified")
    assert status_of(team, pr_id) == "approved"
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(payments)) == 0


def test_settling_a_request_marks_its_verified_invoices_paid(team: Team, signed_in: Any) -> None:
    pr_id, invoice_id = an_invoice_linked_to_a_request(team, signed_in, verified=True)

    response = pay(team, pr_id, "1000.00")

    assert response.status == 201, response.body
    assert status_of(team, pr_id) == "paid"
    reader = signed_in("rex@example.com", ("invoice.read",))
    assert reader.get(f"/api/v1/invoices/{invoice_id}").body["status"] == "paid"
