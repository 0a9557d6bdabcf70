"""Who may move an invoice: verifying needs `invoice.verify` and someone with no hand in the invoice
(not who created it, entered its values or added its files); only payments make it paid. Every
refusal is a security event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from integration.invoices.conftest import CLERK, VERIFIER, grant_for, set_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient, ApiResponse


def enter(browser: ApiClient, number: str = "INV-9") -> dict[str, Any]:
    response = browser.post(
        "/api/v1/invoices", json_body={"number": number, "vendor": "ACME", "currency": "EUR", "total": "120.00"}
    )
    assert response.status == 201, response.body
    return response.body  # type: ignore[no-any-return]


def verify(browser: ApiClient, invoice_id: str) -> ApiResponse:
    return set_status(browser, invoice_id, "verified")


def denial_of(engine: Engine, response: ApiResponse) -> dict[str, Any]:
    """The security event recorded for a refused request (looked up by its request id)."""
    with engine.connect() as connection:
        action, details = connection.execute(
            text("SELECT action, after FROM audit_events WHERE request_id = :id AND category = 'security'"),
            {"id": response.body["error"]["requestId"]},
        ).one()
    return {"action": action, **details}


def test_verifying_needs_the_invoice_verify_permission(
    clerk: ApiClient, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given an invoice a clerk entered, and a colleague who may write invoices but not verify them
    invoice = enter(clerk)
    colleague = signed_in("cole@example.com", CLERK)

    # When the colleague verifies it
    response = verify(colleague, invoice["id"])

    # Then it is refused as any missing permission is, on record, and the invoice still waits
    assert (response.status, response.error_code) == (403, "forbidden")
    assert response.body["error"]["details"] == [
        {"field": None, "message": "needs invoice.verify", "code": "missing_permission"}
    ]
    expected = {
        "action": "access_denied",
        "permission": "invoice.verify",
        "reason": "missing_permission",
        "route": f"POST /api/v1/invoices/{invoice['id']}/status",
    }
    assert denial_of(engine, response).items() >= expected.items()
    assert clerk.get(f"/api/v1/invoices/{invoice['id']}").body["status"] == "received"


def test_whoever_entered_an_invoice_cannot_verify_it(verifier: ApiClient, engine: Engine) -> None:
    # Given an invoice a verifier entered herself
    invoice = enter(verifier)

    # When she verifies it
    response = verify(verifier, invoice["id"])

    # Then someone else must
    assert (response.status, response.error_code) == (403, "maker_checker")
    assert "someone else must verify it" in response.body["error"]["message"]
    assert denial_of(engine, response)["reason"] == "maker_checker"
    assert verifier.get(f"/api/v1/invoices/{invoice['id']}").body["status"] == "received"


def test_whoever_added_a_file_or_changed_a_value_cannot_verify_it(
    clerk: ApiClient, verifier: ApiClient, signed_in: Callable[..., ApiClient], s3: Any
) -> None:
    # Given two invoices a clerk entered: a verifier added a file to one and corrected the other's total
    with_file, corrected = enter(clerk, "INV-1"), enter(clerk, "INV-2")
    grant_for(verifier, with_file["id"])
    edited = verifier.patch(
        f"/api/v1/invoices/{corrected['id']}", json_body={"total": "1200.00"}, headers={"If-Match": '"1"'}
    )
    assert edited.status == 200, edited.body

    # When that verifier, then another one, verify each
    mine = [verify(verifier, invoice["id"]) for invoice in (with_file, corrected)]
    other = signed_in("otto@example.com", VERIFIER)
    theirs = [verify(other, invoice["id"]) for invoice in (with_file, corrected)]

    # Then only the one with no hand in them may
    assert [(response.status, response.error_code) for response in mine] == [(403, "maker_checker")] * 2
    assert [(response.status, response.body.get("status")) for response in theirs] == [(200, "verified")] * 2


def test_the_status_route_cannot_make_an_invoice_paid(clerk: ApiClient, verifier: ApiClient) -> None:
    # Given a verified invoice with no payment
    invoice = enter(clerk)
    assert verify(verifier, invoice["id"]).status == 200

    # When someone holding every invoice permission marks it paid
    response = set_status(verifier, invoice["id"], "paid")

    # Then the route does not know the value (only a payment that settles its request makes it paid)
    assert (response.status, response.error_code) == (422, "validation_error")
    assert response.body["error"]["details"][0]["field"] == "status"
    assert clerk.get(f"/api/v1/invoices/{invoice['id']}").body["status"] == "verified"
