"""Scans through Amazon Textract AnalyzeExpense (behind PAYREQ_PARSER_TEXTRACT, off by default).

Textract's fields and line items are mapped into the same Reading as a text-layer PDF, their values
read by our own number and date readers and their amounts checked by the same reconciliation.
Textract's own confidences are not calibrated on our corpus, so a scan's fields are capped below
the "trust it" band and the invoice is always marked for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoice_api.reading import currencies
from invoice_api.reading.dates import dates_in
from invoice_api.reading.numbers import amount_in, decimal_mark, numbers_in
from invoice_api.reading.records import Field, Item, Reading

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_BYTES = 5 * 1024 * 1024  # AnalyzeExpense's limit for a document sent inline
CAP = 0.85
SUMMARY = {
    "VENDOR_NAME": "vendor",
    "INVOICE_RECEIPT_ID": "invoice_number",
    "INVOICE_RECEIPT_DATE": "issue_date",
    "DUE_DATE": "due_date",
    "SUBTOTAL": "subtotal",
    "TAX": "tax",
    "TOTAL": "total",
    "AMOUNT_DUE": "total",
}


class NotRead(Exception):
    """Textract did not return an expense document for the file."""


@dataclass(frozen=True)
class _Value:
    text: str
    confidence: float
    page: int


def textract_client() -> Any:
    from payreq import aws

    return aws.client("textract")


def analyze(data: bytes, client: Any = None) -> Reading:
    if len(data) > MAX_BYTES:
        raise NotRead("the file is larger than the 5 MB Textract reads inline")
    client = client or textract_client()
    try:
        response = client.analyze_expense(Document={"Bytes": data})
    except client.exceptions.ClientError as error:
        raise NotRead(error.response.get("Error", {}).get("Code", "error")) from None
    return from_response(response)


def _value(field: Mapping[str, Any]) -> _Value | None:
    detection = field.get("ValueDetection") or {}
    text = (detection.get("Text") or "").strip()
    if not text:
        return None
    return _Value(text, float(detection.get("Confidence", 0)) / 100, int(field.get("PageNumber", 1)))


def from_response(response: Mapping[str, Any]) -> Reading:
    documents = response.get("ExpenseDocuments") or []
    if not documents:
        raise NotRead("no expense document in the response")
    document = documents[0]
    reading = Reading()
    summary, currency = _summary(document.get("SummaryFields", []))
    mark = decimal_mark(" ".join(value.text for value in summary.values()))
    for name, value in summary.items():
        parsed = _parsed(name, value.text, mark)
        if parsed is not None:
            confidence = round(min(value.confidence, CAP), 2)
            reading.fields[name] = Field(parsed, confidence, value.page, 1, ("read from a scan by Amazon Textract",))
    if currency:
        reading.fields["currency"] = Field(currency, CAP, 1, 1, ("read from a scan by Amazon Textract",))
    for group in document.get("LineItemGroups", []):
        for line in group.get("LineItems", []):
            item = _item(line, mark)
            if item is not None:
                reading.items.append(item)
    if reading.items:
        reading.items_confidence = round(min(item.confidence for item in reading.items), 2)
    reading.review_reasons.append("The invoice was read from a scan by Amazon Textract: check every field.")
    return reading


def _summary(fields: list[Mapping[str, Any]]) -> tuple[dict[str, _Value], str | None]:
    """The most confident value of each summary field Payreq knows, and the last currency named."""
    summary: dict[str, _Value] = {}
    currency: str | None = None
    for field in fields:
        name = SUMMARY.get((field.get("Type") or {}).get("Text", ""))
        value = _value(field)
        code = (field.get("Currency") or {}).get("Code")
        if code and code.upper() in currencies.codes():
            currency = code.upper()
        if name and value and (name not in summary or value.confidence > summary[name].confidence):
            summary[name] = value
    return summary, currency


def _parsed(name: str, text: str, mark: str) -> Any:
    """A summary field's value as the invoice holds it (a date, an amount, or the text); None if unreadable."""
    if name in ("issue_date", "due_date"):
        found = dates_in(text, "dmy")
        return found[0].value if found else None
    if name in ("subtotal", "tax", "total"):
        number = amount_in(text, mark)
        return number.value if number else None
    return text


def _item(line: Mapping[str, Any], mark: str) -> Item | None:
    values: dict[str, _Value] = {}
    for field in line.get("LineItemExpenseFields", []):
        kind = (field.get("Type") or {}).get("Text", "")
        value = _value(field)
        if value is not None:
            values[kind] = value
    description = values.get("ITEM") or values.get("EXPENSE_ROW")
    price = values.get("PRICE")
    amount = amount_in(price.text, mark) if price else None
    if description is None or amount is None:
        return None
    quantity_numbers = numbers_in(values["QUANTITY"].text, mark) if "QUANTITY" in values else []
    quantity = quantity_numbers[0].value if quantity_numbers else Decimal(1)
    unit = amount_in(values["UNIT_PRICE"].text, mark) if "UNIT_PRICE" in values else None
    if quantity <= 0:
        return None
    unit_price = unit.value if unit is not None else (amount.value / quantity).quantize(Decimal("0.01"))
    confidence = min(CAP, *(value.confidence for value in values.values()))
    return Item(description.text, quantity, unit_price, amount.value, description.page, 1, round(confidence, 2))
