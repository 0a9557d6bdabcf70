"""Payment methods keep masked details only; card numbers and bad IBANs never get in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from payreq.db.schema import audit_events, payment_methods

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from support.api_client import ApiResponse
    from support.team import Team

VISA = "4111 1111 1111 1111"


def add(team: Team, **body: Any) -> ApiResponse:
    return team.treasurer.browser.post(
        "/api/v1/payment-methods", json_body={"payee": "ACME GmbH", "label": "Main", **body}
    )


def test_a_bank_account_is_stored_masked(team: Team, engine: Engine) -> None:
    response = add(team, type="bank_transfer", details={"iban": "DE89 3704 0044 0532 0130 00", "bankName": "Commerz"})

    assert response.status == 201, response.body
    assert response.body["details"] == {"iban": "DE** **** 3000", "bankName": "Commerz"}
    with engine.connect() as connection:
        stored = connection.scalar(select(payment_methods.c.details))
        logged = str(connection.execute(select(audit_events.c.after)).all())
    assert "0532" not in str(stored) and "0532" not in logged


def test_a_card_keeps_brand_last_four_and_expiry_only(team: Team) -> None:
    response = add(team, type="card", details={"brand": "visa", "last4": "1111", "expiryMonth": 12, "expiryYear": 2030})

    assert response.body["details"] == {"brand": "visa", "last4": "1111", "expiryMonth": 12, "expiryYear": 2030}


@pytest.mark.parametrize(
    "body",
    [
        {
            "type": "card",
            "details": {"brand": "visa", "last4": "1111", "expiryMonth": 1, "expiryYear": 2030, "number": VISA},
        },
        {"type": "other", "label": f"card {VISA}", "details": {"description": "x"}},
        {"type": "other", "details": {"description": "pay with 5500-0000-0000-0004"}},
        {"type": "bank_transfer", "details": {"accountNumber": "4111111111111111", "routingNumber": "021000021"}},
    ],
    ids=["card number field", "in the label", "dashed in a note", "as an account number"],
)
def test_a_full_card_number_anywhere_is_refused(team: Team, engine: Engine, body: dict[str, Any]) -> None:
    response = add(team, **body)

    assert (response.status, response.error_code) == (422, "card_number_refused")
    assert "card number" in response.body["error"]["message"]
    with engine.connect() as connection:
        assert connection.execute(select(payment_methods)).all() == []


def test_a_long_bank_account_number_that_is_not_card_like_is_fine(team: Team) -> None:
    response = add(team, type="bank_transfer", details={"accountNumber": "000123456789", "routingNumber": "021000021"})

    assert (response.status, response.body["details"]) == (201, {"accountLast4": "6789", "routingNumber": "021000021"})


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 01", "XX00 1234"])
def test_an_iban_whose_checksum_fails_is_refused(team: Team, iban: str) -> None:
    response = add(team, type="bank_transfer", details={"iban": iban})

    assert response.status == 422
    (problem,) = response.body["error"]["details"]
    assert problem["field"] == "details.iban" and "IBAN" in problem["message"]


def test_one_default_per_payee_and_soft_delete_keeps_history(team: Team) -> None:
    first = add(team, type="check", details={"mailingAddress": "1 Main St"}, isDefault=True).body
    second = add(team, type="other", details={"description": "cash"}, isDefault=True).body

    methods = {
        m["id"]: m for m in team.treasurer.browser.get("/api/v1/payment-methods", query={"payee": "acme gmbh"}).body
    }
    assert (methods[first["id"]]["isDefault"], methods[second["id"]]["isDefault"]) == (False, True)

    assert team.treasurer.browser.delete(f"/api/v1/payment-methods/{second['id']}").status == 204
    listed = team.treasurer.browser.get("/api/v1/payment-methods").body
    still_readable = team.treasurer.browser.get(f"/api/v1/payment-methods/{second['id']}").body
    assert [m["id"] for m in listed] == [first["id"]]
    assert still_readable["deletedAt"] is not None
