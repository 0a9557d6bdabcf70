"""Scans through Amazon Textract AnalyzeExpense: the call (stubbed with botocore's Stubber, which
checks the request and a recorded response against the service's own model) and the mapping of
its fields and line items into the parser's shape."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from invoice_api import textract

RECORDED = json.loads((Path(__file__).parent / "recorded" / "textract_analyze_expense.json").read_text("utf-8"))


def stubbed(response: dict[str, Any] | None, data: bytes) -> tuple[Any, Stubber]:
    client = boto3.client("textract", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    if response is None:
        stubber.add_client_error("analyze_expense", "UnsupportedDocumentException", expected_params=None)
    else:
        stubber.add_response("analyze_expense", response, {"Document": {"Bytes": data}})
    stubber.activate()
    return client, stubber


def test_a_scan_read_by_textract_has_the_parsers_fields_and_items() -> None:
    # Given a scanned invoice that Textract reads as recorded
    data = b"%PDF-1.7 scanned"
    client, stubber = stubbed(RECORDED, data)

    # When it is analysed
    reading = textract.analyze(data, client)

    # Then its fields and items are in the parser's shape, read by the parser's own readers
    stubber.assert_no_pending_responses()
    values = {name: found.value for name, found in reading.fields.items()}
    assert values == {
        "vendor": "Müller & Söhne GmbH",
        "invoice_number": "2026/0815",
        "issue_date": date(2026, 3, 12),
        "due_date": date(2026, 4, 11),
        "subtotal": Decimal("2722.94"),
        "tax": Decimal("517.36"),
        "total": Decimal("3240.30"),
        "currency": "EUR",
    }
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in reading.items] == [
        ("Büromöbel Schreibtisch", Decimal(2), Decimal("1249.00"), Decimal("2498.00")),
        ("Montage pauschal", Decimal(1), Decimal("150.00"), Decimal("150.00")),
        ("Kabelkanal 1,5 m", Decimal(6), Decimal("12.49"), Decimal("74.94")),
    ]
    # ... and nothing read from a scan is reported as certain: a person reviews it
    assert all(found.confidence < 0.9 for found in reading.fields.values())
    assert reading.needs_review and "Textract" in reading.review_reasons[0]


def test_a_document_textract_refuses_is_not_read() -> None:
    client, _ = stubbed(None, b"x")

    with pytest.raises(textract.NotRead, match="UnsupportedDocumentException"):
        textract.analyze(b"x", client)


def test_a_file_too_large_for_an_inline_call_is_not_sent() -> None:
    with pytest.raises(textract.NotRead, match="5 MB"):
        textract.analyze(b"x" * (textract.MAX_BYTES + 1), client=object())
