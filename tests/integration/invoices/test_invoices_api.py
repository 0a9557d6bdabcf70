"""Invoices over the API: manual entry, reading, editing with If-Match, status transitions,
listing with filters and pages; every change audited and announced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from integration.invoices.conftest import set_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient

SERVICES = [
    {"description": "Laptop stand", "quantity": "4", "unitPrice": "45.00", "amount": "180.00"},
    {"description": "Docking station", "quantity": "2", "unitPrice": "189.50", "amount": "379.00"},
]


def enter(browser: ApiClient, **fields: Any) -> dict[str, Any]:
    body = {"number": "INV-1", "vendor": "ACME Hardware", "currency": "EUR", **fields}
    response = browser.post("/api/v1/invoices", json_body=body)
    assert response.status == 201, response.body
    return response.body  # type: ignore[no-any-return]


def test_an_invoice_is_entered_by_hand_with_its_services(clerk: ApiClient) -> None:
    # When a clerk enters an invoice with services, tax and a total that add up
    response = clerk.post(
        "/api/v1/invoices",
        json_body={
            "number": "INV-2026-0042",
            "vendor": "ACME Hardware",
            "issueDate": "2026-03-05",
            "dueDate": "2026-04-04",
            "currency": "eur",
            "subtotal": "559.00",
            "tax": "106.21",
            "total": "665.21",
            "services": SERVICES,
        },
    )

    # Then it is received, numbered, versioned, and its amounts are decimal strings
    assert response.status == 201, response.body
    body = response.body
    assert response.headers["location"] == f"/api/v1/invoices/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["reference"].startswith("INV-2026-") or body["reference"].startswith("INV-")
    assert (body["status"], body["number"], body["currency"], body["total"]) == (
        "received",
        "INV-2026-0042",
        "EUR",
        "665.21",
    )
    assert [s["amount"] for s in body["services"]] == ["180.00", "379.00"]
    assert body["totalCheck"] == "matches"
    assert body["fieldSources"]["vendor"]["by"] == "person"
    assert clerk.get(f"/api/v1/invoices/{body['id']}").body == body


def test_services_must_add_up(clerk: ApiClient) -> None:
    wrong_line = [{**SERVICES[0], "amount": "181.00"}]
    line = clerk.post("/api/v1/invoices", json_body={"services": wrong_line})
    total = clerk.post("/api/v1/invoices", json_body={"services": SERVICES, "currency": "EUR", "total": "600.00"})
    unknown = clerk.post("/api/v1/invoices", json_body={"services": SERVICES, "currency": "EUR"})
    decimals = clerk.post("/api/v1/invoices", json_body={"currency": "JPY", "total": "10.50"})

    assert (line.status, [d["field"] for d in line.body["error"]["details"]]) == (422, ["services"])
    assert (total.status, total.error_code) == (422, "total_mismatch")
    assert (unknown.status, unknown.body["totalCheck"]) == (201, "unknown")
    assert decimals.status == 422


def test_edits_need_the_current_version(clerk: ApiClient) -> None:
    invoice = enter(clerk)
    path = f"/api/v1/invoices/{invoice['id']}"

    missing = clerk.patch(path, json_body={"vendor": "ACME"})
    edited = clerk.patch(path, json_body={"vendor": "ACME Tools"}, headers={"If-Match": '"1"'})
    stale = clerk.patch(path, json_body={"vendor": "ACME Again"}, headers={"If-Match": '"1"'})

    assert missing.status == 428
    assert (edited.status, edited.body["vendor"], edited.headers["etag"]) == (200, "ACME Tools", '"2"')
    assert stale.status == 412


def test_status_follows_the_allowed_transitions(clerk: ApiClient, verifier: ApiClient) -> None:
    invoice = enter(clerk)

    # An invoice entered by hand has nothing to parse: someone else verifies it as received
    verified = set_status(verifier, invoice["id"], "verified")
    again = set_status(verifier, invoice["id"], "verified")
    rejected = set_status(verifier, invoice["id"], "rejected", reason="vendor withdrew it")
    reopened = set_status(verifier, invoice["id"], "verified")
    parsed = set_status(verifier, invoice["id"], "parsed")

    assert (verified.status, verified.body["status"]) == (200, "verified")
    assert (again.status, again.error_code) == (409, "invalid_transition")
    assert (rejected.status, rejected.body["status"]) == (200, "rejected")
    assert (reopened.status, reopened.error_code) == (409, "invalid_transition")
    assert parsed.status == 422  # the parser's to set


def test_a_status_change_is_made_on_the_version_read(clerk: ApiClient, verifier: ApiClient) -> None:
    # Given an invoice a verifier read at version 1, whose total the clerk then changed
    invoice = enter(clerk, total="100.00")
    path = f"/api/v1/invoices/{invoice['id']}"
    read = verifier.get(path).headers["etag"]
    assert clerk.patch(path, json_body={"total": "9999.00"}, headers={"If-Match": read}).status == 200

    # When the verifier verifies what they read, or sends no version at all
    stale = verifier.post(f"{path}/status", json_body={"status": "verified"}, headers={"If-Match": read})
    unversioned = verifier.post(f"{path}/status", json_body={"status": "verified"})

    # Then neither is recorded: they must look again
    assert (stale.status, stale.body["error"]["details"][0]["code"]) == (412, "stale_version")
    assert unversioned.status == 428
    assert (verifier.get(path).body["status"], verifier.get(path).body["version"]) == ("received", 2)


def test_a_received_invoice_may_be_rejected_and_then_not_edited(clerk: ApiClient) -> None:
    invoice = enter(clerk)

    rejected = set_status(clerk, invoice["id"], "rejected")
    edit = clerk.patch(f"/api/v1/invoices/{invoice['id']}", json_body={"vendor": "X"}, headers={"If-Match": '"2"'})

    assert rejected.body["status"] == "rejected"
    assert (edit.status, edit.error_code) == (409, "invalid_transition")


def test_reading_and_writing_need_their_permissions(signed_in: Callable[..., ApiClient]) -> None:
    reader = signed_in("rob@example.com", ("invoice.read",))
    nobody = signed_in("nora@example.com", ("pr.read",))

    assert reader.get("/api/v1/invoices").status == 200
    assert reader.post("/api/v1/invoices", json_body={}).status == 403
    assert nobody.get("/api/v1/invoices").status == 403


def test_listing_filters_and_pages(clerk: ApiClient) -> None:
    # Given invoices from two vendors, with different dates and totals
    a = enter(clerk, number="A-1", vendor="ACME Hardware", issueDate="2026-01-10", dueDate="2026-02-10", total="100.00")
    b = enter(clerk, number="B-7", vendor="Blue Sky", issueDate="2026-02-10", dueDate="2026-03-10", total="250.00")
    c = enter(clerk, number="C-0009", vendor="ACME Tools", issueDate="2026-03-10", dueDate="2026-04-10", total="900.00")
    set_status(clerk, b["id"], "rejected")

    def ids(**query: str) -> list[str]:
        response = clerk.get("/api/v1/invoices", query=query)
        assert response.status == 200, response.body
        return [item["id"] for item in response.body["items"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(status="rejected") == [b["id"]]
    assert ids(vendor="acme") == [c["id"], a["id"]]
    assert ids(number="c 9") == [c["id"]]
    assert ids(issueFrom="2026-02-01", issueTo="2026-02-28") == [b["id"]]
    assert ids(dueFrom="2026-03-01") == [c["id"], b["id"]]
    assert ids(totalMin="200", totalMax="900.00") == [c["id"], b["id"]]
    assert ids(linked="false") == [c["id"], b["id"], a["id"]]
    assert ids(linked="true") == []
    assert ids(duplicate="true") == []

    first = clerk.get("/api/v1/invoices", query={"limit": "2"}).body
    second = clerk.get("/api/v1/invoices", query={"limit": "2", "cursor": first["nextCursor"]}).body
    assert [i["id"] for i in first["items"] + second["items"]] == [c["id"], b["id"], a["id"]]
    assert second["nextCursor"] is None


def test_every_change_is_audited_and_announced(clerk: ApiClient, engine: Engine) -> None:
    invoice = enter(clerk)
    clerk.patch(f"/api/v1/invoices/{invoice['id']}", json_body={"total": "10.00"}, headers={"If-Match": '"1"'})
    set_status(clerk, invoice["id"], "rejected")

    with engine.connect() as connection:
        actions = connection.execute(
            text("SELECT action FROM audit_events WHERE entity_type = 'invoice' AND entity_id = :id ORDER BY seq"),
            {"id": invoice["id"]},
        ).scalars()
        announced = connection.execute(
            text("SELECT op, version FROM outbox WHERE entity = 'invoice' AND entity_id = :id ORDER BY id"),
            {"id": invoice["id"]},
        ).all()

    assert list(actions) == ["invoice.created", "invoice.edited", "invoice.rejected"]
    assert [tuple(row) for row in announced] == [("created", 1), ("updated", 2), ("updated", 3)]
