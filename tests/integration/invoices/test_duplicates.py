"""Duplicates: the same vendor and invoice number however they are written, or the same file, are
flagged with a pointer to the other invoice; only a person with a reason can override the flag."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from unit import invoice_pdfs

from integration.invoices.conftest import Uploads, grant_for, new_upload, set_status

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


@pytest.mark.parametrize(
    ("vendor", "number"),
    [
        ("ACME Hardware GmbH", "INV-0042"),
        ("acme hardware", "inv 42"),
        ("ACME-Hardware, G.m.b.H.", "INV42"),
        ("  Acme   HARDWARE ", "inv/00042"),
    ],
)
def test_the_same_vendor_and_number_written_differently_is_a_duplicate(
    clerk: ApiClient, vendor: str, number: str
) -> None:
    # Given an invoice from ACME Hardware numbered INV-0042
    first = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME Hardware GmbH", "number": "INV-0042"}).body

    # When the same invoice is entered again, written another way
    second = clerk.post("/api/v1/invoices", json_body={"vendor": vendor, "number": number})

    # Then it points at the first one, and the list of duplicates shows it
    assert second.status == 201, second.body
    assert second.body["duplicateOf"] == first["id"]
    assert first["duplicateOf"] is None
    listed = clerk.get("/api/v1/invoices", query={"duplicate": "true"}).body["items"]
    assert [item["id"] for item in listed] == [second.body["id"]]


def test_another_number_or_vendor_is_no_duplicate(clerk: ApiClient) -> None:
    clerk.post("/api/v1/invoices", json_body={"vendor": "ACME Hardware", "number": "INV-0042"})

    other_number = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME Hardware", "number": "INV-0043"})
    other_vendor = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME Tools", "number": "INV-0042"})

    assert other_number.body["duplicateOf"] is None
    assert other_vendor.body["duplicateOf"] is None


def test_an_edit_that_makes_a_duplicate_is_flagged(clerk: ApiClient) -> None:
    first = clerk.post("/api/v1/invoices", json_body={"vendor": "Blue Sky", "number": "BS-1"}).body
    second = clerk.post("/api/v1/invoices", json_body={"vendor": "Blue Sky", "number": "BS-2"}).body

    edited = clerk.patch(
        f"/api/v1/invoices/{second['id']}", json_body={"number": "bs 0001"}, headers={"If-Match": '"1"'}
    )
    fixed = clerk.patch(f"/api/v1/invoices/{second['id']}", json_body={"number": "BS-2"}, headers={"If-Match": '"2"'})

    assert edited.body["duplicateOf"] == first["id"]
    assert fixed.body["duplicateOf"] is None


def test_the_same_file_uploaded_twice_is_a_duplicate(clerk: ApiClient, uploads: Uploads) -> None:
    # Given a scanned invoice uploaded to one invoice
    scan = b"\x89PNG\r\n\x1a\n" + b"same scan" * 100
    first = new_upload(clerk, name="scan.png", kind="image/png")
    uploads.upload(first, scan)

    # When the same file is uploaded to another
    second = clerk.post("/api/v1/invoices", json_body={}).body
    uploads.upload(grant_for(clerk, second["id"], name="again.png", kind="image/png"), scan)

    # Then the second points at the first
    assert clerk.get(f"/api/v1/invoices/{second['id']}").body["duplicateOf"] == first["invoice"]["id"]


def test_a_parsed_pdf_of_a_known_invoice_is_flagged(clerk: ApiClient, uploads: Uploads) -> None:
    entered = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME Hardware Ltd", "number": "INV 2026 42"}).body
    created = new_upload(clerk)

    uploads.upload(created, invoice_pdfs.ruled_table().pdf)

    parsed = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert (parsed["status"], parsed["duplicateOf"]) == ("parsed", entered["id"])


def test_overriding_the_flag_needs_a_reason_and_is_audited(
    clerk: ApiClient, verifier: ApiClient, engine: Engine
) -> None:
    # Given an invoice flagged as a duplicate, whose parsing failed
    clerk.post("/api/v1/invoices", json_body={"vendor": "ACME", "number": "7"})
    flagged = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME", "number": "7"}).body
    with engine.begin() as connection:
        connection.execute(text("UPDATE invoices SET status = 'parse_failed' WHERE id = :id"), {"id": flagged["id"]})
    path = f"/api/v1/invoices/{flagged['id']}"

    # When it is verified before, then after, the flag is overridden with a reason
    refused = set_status(verifier, flagged["id"], "verified")
    no_reason = clerk.patch(path, json_body={"duplicateOverrideReason": ""}, headers={"If-Match": '"1"'})
    overridden = clerk.patch(
        path, json_body={"duplicateOverrideReason": "Credit note reusing the number"}, headers={"If-Match": '"1"'}
    )
    verified = set_status(verifier, flagged["id"], "verified")

    # Then verification waited for the override, which is on record with its reason
    assert (refused.status, refused.error_code) == (409, "duplicate_unresolved")
    assert no_reason.status == 422
    assert overridden.body["duplicateOverrideReason"] == "Credit note reusing the number"
    assert verified.body["status"] == "verified"
    assert clerk.get("/api/v1/invoices", query={"duplicate": "true"}).body["items"] == []
    with engine.connect() as connection:
        after = connection.execute(
            text("SELECT after FROM audit_events WHERE entity_id = :id AND action = 'invoice.duplicate_overridden'"),
            {"id": flagged["id"]},
        ).scalar_one()
    assert after["duplicate_override_reason"] == "Credit note reusing the number"


def test_an_invoice_that_is_no_duplicate_cannot_be_overridden(clerk: ApiClient) -> None:
    invoice = clerk.post("/api/v1/invoices", json_body={"vendor": "Solo", "number": "1"}).body

    response = clerk.patch(
        f"/api/v1/invoices/{invoice['id']}",
        json_body={"duplicateOverrideReason": "just because"},
        headers={"If-Match": '"1"'},
    )

    assert (response.status, response.error_code) == (409, "not_a_duplicate")
