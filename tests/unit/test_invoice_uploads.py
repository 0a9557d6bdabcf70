"""What becomes of an uploaded file, decided without S3 or a database (`invoice_api.uploads`): which
keys are attachments, why a file is not read, what a parse fills in and what a person should check."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from invoice_api import uploads
from invoice_api.records import Attachment, Invoice

if TYPE_CHECKING:
    from invoice_api.uploads import FoundField, ParseOutcome

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CLERK = uuid.uuid4()
INVOICE_ID, ATTACHMENT_ID = uuid.uuid4(), uuid.uuid4()
KEY = f"uploads/{INVOICE_ID}/{ATTACHMENT_ID}/scan.pdf"


def an_invoice(**changes: Any) -> Invoice:
    invoice = Invoice(
        id=INVOICE_ID,
        reference="INV-2026-0001",
        invoice_number=None,
        invoice_number_key=None,
        vendor=None,
        vendor_key=None,
        issue_date=None,
        due_date=None,
        currency=None,
        subtotal=None,
        tax=None,
        total=None,
        status="received",
        field_sources={},
        parse_error=None,
        document_type="invoice",
        review_reasons=[],
        duplicate_of=None,
        duplicate_override_reason=None,
        created_by=CLERK,
        version=1,
        created_at=NOW,
        updated_at=NOW,
        payment_request_id=None,
    )
    return dataclasses.replace(invoice, **changes)


def an_attachment(**changes: Any) -> Attachment:
    attachment = Attachment(
        id=ATTACHMENT_ID,
        invoice_id=INVOICE_ID,
        bucket="attachments",
        object_key=KEY,
        file_name="scan.pdf",
        content_type="application/pdf",
        size_bytes=None,
        sha256=None,
        etag=None,
        version_id=None,
        uploaded_at=None,
        created_by=CLERK,
        created_at=NOW,
    )
    return dataclasses.replace(attachment, **changes)


def read(value: Any, confidence: float = 0.9) -> FoundField:
    return {"value": value, "confidence": confidence, "page": 1, "line": 3, "evidence": ["Total: 119.00"]}


def an_outcome(document_type: str = "invoice") -> ParseOutcome:
    return {
        "document_type": document_type,
        "fields": {
            "invoice_number": read("INV-42"),
            "issue_date": read("2026-02-27"),
            "currency": read("EUR"),
            "subtotal": read(Decimal("100.00")),
            "tax": read(Decimal("19.00")),
            "total": read(Decimal("119.00")),
        },
        "items": [{"description": "Hinges", "quantity": Decimal(2), "unit_price": Decimal(50), "amount": Decimal(100)}],
        "items_confidence": 0.7,
        "item_confidences": [0.7],
        "taxes": [{"rate": "19", "amount": "19.00"}],
        "review_reasons": ["The totals were read from one line."],
    }


PERSON = {"by": "person", "userId": str(CLERK), "at": NOW.isoformat()}


# --- which object, and whether it is read -------------------------------------------------------


def test_a_key_in_the_attachment_layout_names_its_attachment() -> None:
    assert uploads.attachment_id_in(KEY) == ATTACHMENT_ID


@pytest.mark.parametrize("key", ["uploads/scan.pdf", f"parsed/{INVOICE_ID}/{ATTACHMENT_ID}/scan.pdf", f"{KEY}/more"])
def test_a_key_outside_the_layout_names_no_attachment(key: str) -> None:
    assert uploads.attachment_id_in(key) is None


def test_only_the_granted_bucket_and_key_are_the_attachments_upload() -> None:
    attachment = an_attachment()

    assert uploads.is_upload_of(attachment, "attachments", KEY)
    assert not uploads.is_upload_of(attachment, "elsewhere", KEY)
    assert not uploads.is_upload_of(attachment, "attachments", KEY.replace("scan", "other"))
    assert not uploads.is_upload_of(None, "attachments", KEY)


@pytest.mark.parametrize(("reported", "pinned"), [("3HL4kqtJ", "3HL4kqtJ"), ("null", None), (None, None)])
def test_an_unversioned_bucket_pins_no_version(reported: str | None, pinned: str | None) -> None:
    assert uploads.pinned_version(reported) == pinned


def test_an_empty_or_oversized_file_is_not_read() -> None:
    limit = 20 * 1024 * 1024

    assert uploads.size_problem(0, limit) == "The file is empty."
    assert uploads.size_problem(limit + 1, limit) == "The file is 20.0 MB; at most 20 MB is accepted."
    assert uploads.size_problem(limit, limit) is None


def test_a_file_that_is_not_what_its_upload_said_fails_with_what_it_should_have_been() -> None:
    assert uploads.content_problem("application/pdf", b"%PDF-1.7\n") is None
    assert uploads.content_problem("application/pdf", b"\x89PNG\r\n\x1a\n") == (
        "The file is not a PDF, whatever its name says."
    )
    assert uploads.content_problem("image/jpeg", b"%PDF-1.7") == "The file is not a JPEG image, whatever its name says."


def test_only_pdfs_are_parsed() -> None:
    assert uploads.is_parsed("application/pdf")
    assert not uploads.is_parsed("image/png")


@pytest.mark.parametrize(
    ("recorded", "failure", "outcome", "word"),
    [
        ("recorded", None, an_outcome(), "parsed"),
        ("recorded", "The file is empty.", None, "parse_failed"),
        ("recorded", None, None, "stored"),
        ("refused", None, None, "refused"),
        ("already recorded", "The file is empty.", None, "already recorded"),
        ("ignored", None, an_outcome(), "ignored"),
    ],
)
def test_the_result_in_a_word(
    recorded: uploads.UploadOutcome, failure: str | None, outcome: ParseOutcome | None, word: str
) -> None:
    assert uploads.result(recorded, failure, outcome) == word


# --- refused uploads ----------------------------------------------------------------------------


def test_the_version_on_record_again_is_already_recorded() -> None:
    attachment = an_attachment(uploaded_at=NOW, etag="e1", version_id="v1")

    assert uploads.refusal(attachment, etag="e1", version_id="v1") == "already recorded"


def test_another_version_after_the_recorded_one_is_a_replacement() -> None:
    attachment = an_attachment(uploaded_at=NOW, etag="e1", version_id="v1")

    assert uploads.refusal(attachment, etag="e2", version_id="v2") == "attachment_replaced"


def test_a_first_file_after_the_invoice_closed_is_too_late() -> None:
    assert uploads.refusal(an_attachment(), etag="e1", version_id="v1") == "attachment_too_late"


# --- the status an upload leaves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "failure", "parsed", "status", "action"),
    [
        ("received", None, True, "parsed", "invoice.parsed"),
        ("parse_failed", None, True, "parsed", "invoice.parsed"),
        ("parsed", None, True, None, "invoice.parsed"),
        ("received", "The file is empty.", False, "parse_failed", "invoice.parse_failed"),
        ("parsed", "The file is empty.", False, None, "invoice.parse_failed"),
        ("received", None, False, None, "invoice.attachment_uploaded"),
    ],
)
def test_the_status_an_upload_leaves(
    current: str, failure: str | None, parsed: bool, status: str | None, action: str
) -> None:
    values, audited = uploads.status_change(current, failure=failure, parsed=parsed)

    assert values.get("status") == status
    assert audited == action
    if failure is not None:
        assert values["parse_error"] == failure
    elif status == "parsed":
        assert values["parse_error"] is None


# --- what a parse fills in ----------------------------------------------------------------------


def test_a_parse_fills_every_field_with_where_it_was_found() -> None:
    fill = uploads.parsed_fill(an_invoice(), an_outcome(), request_status=None, now=NOW)

    assert fill.values["invoice_number"] == "INV-42"
    assert fill.values["issue_date"] == date(2026, 2, 27)
    assert fill.values["total"] == Decimal("119.00")
    assert fill.values["document_type"] == "invoice"
    assert fill.values["field_sources"]["total"] == {
        "by": "parser",
        "confidence": 0.9,
        "page": 1,
        "line": 3,
        "evidence": ["Total: 119.00"],
        "at": NOW.isoformat(),
    }
    assert fill.values["field_sources"]["tax"]["breakdown"] == [{"rate": "19", "amount": "19.00"}]
    assert fill.values["field_sources"]["services"]["count"] == 1
    assert [line["description"] for line in fill.lines] == ["Hinges"]
    assert fill.values["review_reasons"] == ["The totals were read from one line."]


def test_a_value_a_person_entered_is_never_overwritten() -> None:
    invoice = an_invoice(
        invoice_number="A-1", field_sources={"invoice_number": PERSON, "services": PERSON, "document_type": PERSON}
    )

    fill = uploads.parsed_fill(invoice, an_outcome(), request_status=None, now=NOW)

    assert "invoice_number" not in fill.values
    assert fill.values["field_sources"]["invoice_number"] == PERSON
    assert "document_type" not in fill.values
    assert fill.lines == []


def test_a_credit_note_read_where_a_person_said_invoice_fills_no_amounts() -> None:
    invoice = an_invoice(field_sources={"document_type": PERSON})

    fill = uploads.parsed_fill(invoice, an_outcome(document_type="credit_note"), request_status=None, now=NOW)

    assert not {"subtotal", "tax", "total"} & set(fill.values)
    assert fill.values["invoice_number"] == "INV-42"
    assert fill.lines == []
    assert "The file reads as a credit note; its amounts were not filled in." in fill.values["review_reasons"]


def test_amounts_under_a_linked_requests_approval_are_not_filled() -> None:
    fill = uploads.parsed_fill(an_invoice(), an_outcome(), request_status="pending", now=NOW)

    assert not {"currency", "subtotal", "tax", "total"} & set(fill.values)
    assert fill.lines == []
    assert fill.values["review_reasons"][-1] == (
        "The invoice is linked to a payment request that is pending; its amounts were not filled in."
    )


def test_a_draft_requests_invoice_is_filled_as_any_other() -> None:
    fill = uploads.parsed_fill(an_invoice(), an_outcome(), request_status="draft", now=NOW)

    assert fill.values["total"] == Decimal("119.00")


def test_a_card_number_read_from_a_file_is_masked() -> None:
    card = "4111 1111 1111 1111"
    outcome = an_outcome()
    outcome["fields"]["vendor"] = read(f"Paid with {card}")
    outcome["items"][0]["description"] = f"Hinges, card {card}"

    fill = uploads.parsed_fill(an_invoice(), outcome, request_status=None, now=NOW)

    assert card not in str(fill.values["vendor"])
    assert card not in fill.lines[0]["description"]


def test_an_amount_too_precise_for_its_currency_is_left_out() -> None:
    outcome = an_outcome()
    outcome["fields"]["total"] = read(Decimal("119.001"))

    fill = uploads.parsed_fill(an_invoice(), outcome, request_status=None, now=NOW)

    assert "total" not in fill.values
    assert "total" not in fill.values["field_sources"]


def test_an_amount_of_the_wrong_sign_is_left_out_and_said_why() -> None:
    outcome = an_outcome()
    outcome["fields"]["total"] = read(Decimal("-119.00"))

    fill = uploads.parsed_fill(an_invoice(), outcome, request_status=None, now=NOW)

    assert "total" not in fill.values
    assert fill.values["review_reasons"][-1] == (
        "The total read from the file (-119.00) was not filled in: the total of an invoice must be greater than 0."
    )


def test_fields_the_invoice_does_not_have_are_ignored() -> None:
    outcome = an_outcome()
    outcome["fields"]["iban"] = read("DE89370400440532013000")

    fill = uploads.parsed_fill(an_invoice(), outcome, request_status=None, now=NOW)

    assert "iban" not in fill.values
    assert "iban" not in fill.values["field_sources"]
