"""Request and response bodies of the invoice function (camelCase JSON)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from payreq.http.models import ApiModel, RequestModel, field_error
from payreq.money import AS_DECIMAL_STRING, MAX_AMOUNT, CurrencyCode, check_fits, parse_decimal
from payreq.timestamps import utc_timestamp

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
MAX_LINES = 500
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ContentType = Literal["application/pdf", "image/png", "image/jpeg"]
# A credit note's amounts are negative (what the issuer owes back); rules.sign_problem holds the rule.
DocumentType = Literal["invoice", "credit_note"]


def _not_negative(amount: Decimal) -> Decimal:
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be 0 or more")
    if amount > MAX_AMOUNT:
        raise ValueError("is too large")
    return amount


def _finite(amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise ValueError("must be a finite amount")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError("is too large")
    return amount


# Tax may be 0; an amount the API shows is always a decimal string.
MoneyOrZero = Annotated[Decimal, BeforeValidator(parse_decimal), AfterValidator(_not_negative), AS_DECIMAL_STRING]
# Negative for credit notes, and for discount lines on an invoice; whether the sign fits the
# document type is checked against the whole invoice (rules.sign_problem), not per value.
SignedMoney = Annotated[Decimal, BeforeValidator(parse_decimal), AfterValidator(_finite), AS_DECIMAL_STRING]
Quantity = Annotated[Decimal, BeforeValidator(parse_decimal), Field(gt=0, max_digits=20, decimal_places=6)]


class ServiceLine(RequestModel):
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    quantity: Quantity
    unit_price: SignedMoney
    amount: SignedMoney


def _check_money(model: Any, currency: str | None) -> None:
    if currency is None:
        return
    for name in ("subtotal", "tax", "total"):
        value = getattr(model, name, None)
        if value is not None:
            try:
                check_fits(value, currency)
            except ValueError as error:
                raise field_error(name, str(error)) from None


class InvoiceFields(RequestModel):
    document_type: DocumentType | None = None
    number: Text | None = None
    vendor: Text | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: CurrencyCode | None = None
    subtotal: SignedMoney | None = None
    tax: SignedMoney | None = None
    total: SignedMoney | None = None
    services: Annotated[list[ServiceLine], Field(max_length=MAX_LINES)] | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _check_money(self, self.currency)
        if self.issue_date and self.due_date and self.due_date < self.issue_date:
            raise field_error("dueDate", "dueDate is before issueDate")
        return self


class NewInvoice(InvoiceFields):
    """A manually entered invoice; every field optional (a person may fill it in later)."""


class InvoiceChanges(InvoiceFields):
    # Keeps an invoice flagged as a duplicate open for verification: who decided, and why.
    duplicate_override_reason: Reason | None = None


class StatusChange(RequestModel):
    # A person verifies or rejects; `paid` is the payments' to set when a payment settles the request.
    status: Literal["verified", "rejected"]
    reason: Reason | None = None


class AttachmentRequest(RequestModel):
    file_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    content_type: ContentType
    content_length: int | None = Field(default=None, ge=1, le=MAX_UPLOAD_BYTES)


class ServiceView(ApiModel):
    position: int
    description: str
    quantity: str
    unit_price: str
    amount: str


class AttachmentView(ApiModel):
    id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int | None
    sha256: str | None
    uploaded_at: datetime | None
    created_at: datetime


class InvoiceSummary(ApiModel):
    id: uuid.UUID
    reference: str
    document_type: DocumentType
    number: str | None
    vendor: str | None
    issue_date: date | None
    due_date: date | None
    currency: str | None
    subtotal: str | None
    tax: str | None
    total: str | None
    status: str
    parse_error: str | None
    # The parser read something a person should check before verifying (its reasons below).
    needs_review: bool
    review_reasons: list[str]
    duplicate_of: uuid.UUID | None
    duplicate_override_reason: str | None
    payment_request_id: uuid.UUID | None
    created_by: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


# The invoice's fields whose column has another name.
FIELD_OF_COLUMN = {"invoice_number": "number"}


def _as_fields(sources: Any) -> Any:
    """`field_sources` as stored (column names, whatever keys each entry's writer chose) in the
    API's words: each key the invoice field's camelCase name, each entry's keys camelCase too, each
    time in UTC with a Z."""
    if not isinstance(sources, dict):
        return sources
    return {to_camel(FIELD_OF_COLUMN.get(str(column), str(column))): _camel_entry(e) for column, e in sources.items()}


def _camel_entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    return {to_camel(key): _utc(value) if key == "at" else _camel_entry(value) for key, value in entry.items()}


def _utc(value: Any) -> Any:
    try:
        return utc_timestamp(datetime.fromisoformat(value)) if isinstance(value, str) else value
    except ValueError:
        return value


class InvoiceView(InvoiceSummary):
    services: list[ServiceView]
    attachments: list[AttachmentView]
    # Per field: who set it ("person" or "parser"), the parser's confidence, and the page and line.
    field_sources: Annotated[dict[str, Any], BeforeValidator(_as_fields)] = Field(
        description="Per invoice field (its camelCase name): who set it (`by`: person or parser), when (`at`), "
        "and what the parser adds (its confidence, page and line)."
    )
    # Whether the lines and tax add up to the total: matches, mismatch, or unknown (not both known).
    total_check: Literal["matches", "mismatch", "unknown"]


class PresignedPost(ApiModel):
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_at: datetime


class UploadGrant(ApiModel):
    attachment: AttachmentView
    upload: PresignedPost


class NewUpload(UploadGrant):
    invoice: InvoiceView


class DownloadLink(ApiModel):
    attachment: AttachmentView
    url: str
    expires_at: datetime
