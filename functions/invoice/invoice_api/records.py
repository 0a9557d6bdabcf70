"""What the invoice repository reads and writes: one record per table it reads, and the typed
changes it takes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from payreq.db.records import record

if TYPE_CHECKING:
    import uuid
    from datetime import date, datetime
    from decimal import Decimal


@record
class Invoice:
    """An invoice row, with the payment request it is linked to (if any)."""

    id: uuid.UUID
    reference: str
    invoice_number: str | None
    invoice_number_key: str | None
    vendor: str | None
    vendor_key: str | None
    issue_date: date | None
    due_date: date | None
    currency: str | None
    subtotal: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    status: str
    field_sources: dict[str, Any]
    parse_error: str | None
    document_type: str
    review_reasons: list[str]
    duplicate_of: uuid.UUID | None
    duplicate_override_reason: str | None
    created_by: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
    payment_request_id: uuid.UUID | None


@record
class InvoiceLine:
    id: uuid.UUID
    invoice_id: uuid.UUID
    position: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@record
class Attachment:
    id: uuid.UUID
    invoice_id: uuid.UUID
    bucket: str
    object_key: str
    file_name: str
    content_type: str
    size_bytes: int | None
    sha256: bytes | None
    etag: str | None
    version_id: str | None
    uploaded_at: datetime | None
    created_by: uuid.UUID
    created_at: datetime


class InvoiceUpdate(TypedDict, total=False):
    """The columns a change sets; those it leaves out keep their value."""

    # What the invoice says, as a person entered it or the parser read it (rules.FIELDS).
    document_type: str
    invoice_number: str | None
    vendor: str | None
    issue_date: date | None
    due_date: date | None
    currency: str | None
    subtotal: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    # Who set each of those, and what a person should check.
    field_sources: dict[str, Any]
    review_reasons: list[str]
    # Where it stands.
    status: str
    parse_error: str | None
    # Derived on every change: the duplicate keys and the duplicate it looks like.
    vendor_key: str | None
    invoice_number_key: str | None
    duplicate_of: uuid.UUID | None
    duplicate_override_reason: str | None


class LineValues(TypedDict):
    """A service line as a person entered it or the parser read it (its position is its place)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@record
class NewAttachment:
    """An attachment granted an upload; its file is not there yet."""

    id: uuid.UUID
    invoice_id: uuid.UUID
    bucket: str
    object_key: str
    file_name: str
    content_type: str
    created_by: uuid.UUID
    created_at: datetime


@record
class UploadedVersion:
    """The object version an attachment's upload left in the bucket."""

    etag: str
    version_id: str | None
    size_bytes: int
    sha256: bytes | None
    uploaded_at: datetime


@record
class InvoiceFilter:
    """What a page of invoices is narrowed to; None is no condition."""

    status: str | None = None
    vendor: str | None = None
    """Part of the vendor's name, in any case."""
    number: str | None = None
    """The invoice number, compared by its key (`rules.invoice_number_key`)."""
    issue_from: date | None = None
    issue_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    total_min: Decimal | None = None
    total_max: Decimal | None = None
    linked: bool | None = None
    duplicate: bool | None = None
    """Flagged as a duplicate and not overridden."""
