"""What the parser read is what the API shows: fields, line items, confidences, the document type
and the reasons to review; a person's values and document type are never overwritten; credit notes
carry negative amounts, from the parser and from people alike; a scan says it is a scan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from unit import invoice_pdfs

from integration.invoices.conftest import grant_for, new_upload
from invoice_api import parser, textract

if TYPE_CHECKING:
    from integration.invoices.conftest import Uploads
    from support.api_client import ApiClient

CORPUS = Path(__file__).parents[2] / "parser_corpus" / "train"
SHOWN = {"invoice_number": "number", "issue_date": "issueDate", "due_date": "dueDate"}


def _shown(value: Any, currency: str | None) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}" if currency != "JPY" else f"{value:.0f}"
    return str(value)


@pytest.mark.parametrize(
    "name",
    [
        "000-classic-de-CH",  # everything adds up
        "004-side_by_side-pt-BR",  # a credit note
        "009-totals_row-it-IT",  # totals that do not reconcile: review reasons
        "032-minimal-pt-BR",  # an unsure vendor: a review reason
    ],
)
def test_the_api_shows_exactly_what_the_parser_read(name: str, clerk: ApiClient, uploads: Uploads) -> None:
    # Given an invoice PDF and what the parser reads from it
    data = (CORPUS / f"{name}.pdf").read_bytes()
    read, failure = parser.parse_pdf(data)
    assert read is not None, failure
    created = new_upload(clerk, name=f"{name}.pdf")

    # When it is uploaded and parsed
    uploads.upload(created, data)

    # Then the invoice shows those fields with their confidence, page, line and evidence
    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    currency = invoice["currency"]
    for field, found in read["fields"].items():
        assert invoice[SHOWN.get(field, field)] == _shown(found["value"], currency), field
        source = invoice["fieldSources"][SHOWN.get(field, field)]
        assert source["by"] == "parser"
        assert (source["confidence"], source["page"], source["line"], source["evidence"]) == (
            found["confidence"],
            found["page"],
            found["line"],
            found["evidence"],
        )
    # ... those line items with theirs
    assert [(s["description"], s["quantity"], s["unitPrice"], s["amount"]) for s in invoice["services"]] == [
        (
            i["description"],
            f"{i['quantity'].normalize():f}",
            _shown(i["unit_price"], currency),
            _shown(i["amount"], currency),
        )
        for i in read["items"]
    ]
    services = invoice["fieldSources"]["services"]
    assert (services["confidence"], services["lineConfidences"]) == (read["items_confidence"], read["item_confidences"])
    # ... and its document type and reasons to review
    assert invoice["documentType"] == read["document_type"]
    assert invoice["reviewReasons"] == read["review_reasons"]
    assert invoice["needsReview"] == bool(read["review_reasons"])


def test_a_credit_note_is_recorded_with_negative_amounts(clerk: ApiClient, uploads: Uploads) -> None:
    # Given a credit note whose lines and totals are printed as negative amounts
    created = new_upload(clerk, name="credit.pdf")

    # When it is parsed
    uploads.upload(created, (CORPUS / "004-side_by_side-pt-BR.pdf").read_bytes())

    # Then it is a credit note, with every line kept and every amount negative, and nothing to review
    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert invoice["documentType"] == "credit_note" and invoice["status"] == "parsed"
    assert invoice["services"] and all(Decimal(s["amount"]) < 0 for s in invoice["services"])
    assert Decimal(invoice["total"]) < 0 and invoice["totalCheck"] == "matches"
    assert not invoice["needsReview"]


def test_people_may_enter_credit_notes_with_negative_amounts_but_not_invoices(clerk: ApiClient) -> None:
    credit = {
        "documentType": "credit_note",
        "currency": "EUR",
        "tax": "-19.00",
        "total": "-119.00",
        "services": [{"description": "Returned chair", "quantity": "1", "unitPrice": "-100.00", "amount": "-100.00"}],
    }

    created = clerk.post("/api/v1/invoices", json_body=credit)
    refused = clerk.post("/api/v1/invoices", json_body={**credit, "documentType": "invoice"})
    positive_credit = clerk.post("/api/v1/invoices", json_body={**credit, "total": "119.00", "services": None})

    assert created.status == 201, created.body
    assert (created.body["documentType"], created.body["total"]) == ("credit_note", "-119.00")
    assert refused.status == 422 and refused.body["error"]["details"][0]["field"] == "tax"
    assert positive_credit.status == 422 and positive_credit.body["error"]["details"][0]["field"] == "total"


def test_a_persons_document_type_stands_and_amounts_of_the_other_sign_are_left_to_them(
    clerk: ApiClient, uploads: Uploads
) -> None:
    # Given an invoice a person recorded as an invoice, with its vendor
    invoice = clerk.post("/api/v1/invoices", json_body={"documentType": "invoice", "vendor": "Someone Else AG"}).body

    # When the file turns out to be a credit note
    uploads.upload(grant_for(clerk, invoice["id"]), (CORPUS / "004-side_by_side-pt-BR.pdf").read_bytes())

    # Then the person's type and vendor stand, the other fields are filled, and the amounts are left, with a reason
    parsed = clerk.get(f"/api/v1/invoices/{invoice['id']}").body
    assert (parsed["documentType"], parsed["vendor"]) == ("invoice", "Someone Else AG")
    assert parsed["number"] is not None and parsed["total"] is None and parsed["services"] == []
    assert parsed["needsReview"] and any("credit note" in reason for reason in parsed["reviewReasons"])


def test_amounts_an_invoice_cannot_have_are_left_for_a_person_with_a_reason(clerk: ApiClient, uploads: Uploads) -> None:
    # Given a file titled an invoice whose amounts are all negative (a refund on the wrong form)
    created = new_upload(clerk, name="refund.pdf")

    # When it is parsed
    uploads.upload(created, invoice_pdfs.negative_invoice().pdf)

    # Then the invoice keeps what it may hold, leaves the totals to a person and says why
    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert (invoice["documentType"], invoice["number"]) == ("invoice", "INV-2026-0077")
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == (None, None, None)
    assert invoice["needsReview"]
    assert any("total read from the file (-227.40)" in reason for reason in invoice["reviewReasons"])
    # ... and a person can still save it, once they have decided what it is
    edited = clerk.patch(
        f"/api/v1/invoices/{invoice['id']}",
        json_body={"documentType": "credit_note", "tax": "-37.90", "total": "-227.40"},
        headers={"If-Match": f'"{invoice["version"]}"'},
    )
    assert edited.status == 200, edited.body


@pytest.mark.parametrize("make", [invoice_pdfs.image_only, invoice_pdfs.stamp_over_image], ids=["image", "stamp"])
def test_a_scan_ends_parse_failed_saying_it_is_a_scan(make: Any, clerk: ApiClient, uploads: Uploads) -> None:
    created = new_upload(clerk, name="scan.pdf")

    uploads.upload(created, make())

    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert invoice["status"] == "parse_failed"
    assert "scan" in invoice["parseError"] and invoice["number"] is None


def test_with_textract_on_a_scan_is_read_by_textract_and_marked_for_review(
    clerk: ApiClient, uploads: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unit.test_textract_scans import RECORDED, stubbed

    # Given the Textract setting on, and Textract's (recorded) reading of the scan
    data = invoice_pdfs.image_only()
    client, _ = stubbed(RECORDED, data)
    monkeypatch.setenv("PAYREQ_PARSER_TEXTRACT", "true")
    monkeypatch.setattr(textract, "textract_client", lambda: client)
    created = new_upload(clerk, name="scan.pdf")

    # When the scan is uploaded
    uploads.upload(created, data)

    # Then the invoice holds Textract's fields, none trusted without review
    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert (invoice["status"], invoice["number"], invoice["total"]) == ("parsed", "2026/0815", "3240.30")
    assert len(invoice["services"]) == 3 and invoice["needsReview"]
    assert all(source["confidence"] < 0.9 for source in invoice["fieldSources"].values() if "confidence" in source)


def test_a_card_number_read_from_a_file_is_never_stored(
    clerk: ApiClient, uploads: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file whose vendor line and first item carry a card number
    from payreq.card_numbers import MASK

    data = (CORPUS / "000-classic-de-CH.pdf").read_bytes()
    read, _ = parser.parse_pdf(data)
    assert read is not None
    read["fields"]["vendor"]["value"] = "ACME, card 4111 1111 1111 1111"
    read["items"][0]["description"] = "Paid with 4111-1111-1111-1111"
    monkeypatch.setattr(parser, "parse_pdf", lambda _data: (read, None))
    created = new_upload(clerk)

    # When it is parsed
    uploads.upload(created, data)

    # Then the invoice keeps the text around it, never the number
    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert invoice["vendor"] == f"ACME, card {MASK}"
    assert invoice["services"][0]["description"] == f"Paid with {MASK}"
    assert "1111" not in str(invoice)


def test_a_file_parsed_after_its_invoice_was_linked_to_a_pending_request_leaves_the_amounts(
    clerk: ApiClient, uploads: Uploads, team: Any
) -> None:
    # Given an invoice waiting for its file, linked to a request now under approval
    from support.team import raise_request

    created = new_upload(clerk)
    invoice_id = created["invoice"]["id"]
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.bob)]).body["id"]
    assert (
        team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice_id}).status == 200
    )
    assert team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200
    before = team.bob.browser.get(f"/api/v1/prs/{pr_id}").body

    # When the file is parsed
    uploads.upload(created, (CORPUS / "000-classic-de-CH.pdf").read_bytes())

    # Then what the approvers see is unchanged, and the invoice says why its amounts are empty
    invoice = clerk.get(f"/api/v1/invoices/{invoice_id}").body
    assert (invoice["total"], invoice["services"]) == (None, [])
    assert any("linked to a payment request that is pending" in reason for reason in invoice["reviewReasons"])
    after = team.bob.browser.get(f"/api/v1/prs/{pr_id}").body
    assert (after["invoicesTotal"], after["materialHash"]) == (before["invoicesTotal"], before["materialHash"])
