"""What becomes of an uploaded file, decided without I/O: whether the parser reads it, why a file
is refused or fails, which of the invoice's fields the parse fills and what a person should check.
The parser's handler (`parser.handle`) and the flows that record an upload do the reading and writing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from invoice_api import rules
from payreq.card_numbers import mask
from payreq.money import check_fits

if TYPE_CHECKING:
    from datetime import datetime

    from invoice_api.records import Attachment, Invoice, InvoiceUpdate, LineValues
    from payreq.audit import SecurityAction

KEY = re.compile(r"^uploads/(?P<invoice>[0-9a-f-]{36})/(?P<attachment>[0-9a-f-]{36})/[^/]+$")
KINDS = {"application/pdf": "a PDF", "image/png": "a PNG image", "image/jpeg": "a JPEG image"}
AMOUNTS = ("subtotal", "tax", "total")

UploadOutcome = Literal["recorded", "already recorded", "refused", "ignored"]


class FoundField(TypedDict):
    """A field as parsing found it: its value, how sure, and where (the API shows all of it)."""

    value: Any
    """Text, a `date` or a `Decimal`."""
    confidence: float
    page: int
    line: int
    evidence: list[str]


class TaxLine(TypedDict):
    rate: str | None
    amount: str


class ParseOutcome(TypedDict):
    """What parsing a file found, as the parser hands it to the flows that record it."""

    document_type: str
    fields: dict[str, FoundField]
    items: list[LineValues]
    items_confidence: float
    item_confidences: list[float]
    taxes: list[TaxLine]
    review_reasons: list[str]


def attachment_id_in(key: str) -> uuid.UUID | None:
    """The attachment an object key belongs to; None for a key outside the attachment layout."""
    match = KEY.match(key)
    return uuid.UUID(match["attachment"]) if match is not None else None


def is_upload_of(attachment: Attachment | None, bucket: str, key: str) -> bool:
    """Whether the object is the one the attachment's upload grant was for."""
    return attachment is not None and attachment.object_key == key and attachment.bucket == bucket


def pinned_version(version_id: str | None) -> str | None:
    """The version to pin the file to: a suspended or unversioned bucket says "null", which is none."""
    return version_id if version_id not in (None, "null") else None


def size_problem(size: int, limit: int) -> str | None:
    """Why a file of `size` bytes is not read at all, if so."""
    if size == 0:
        return "The file is empty."
    if size > limit:
        return f"The file is {size / 1024 / 1024:.1f} MB; at most {limit / 1024 / 1024:.0f} MB is accepted."
    return None


def content_problem(content_type: str, data: bytes) -> str | None:
    """Why the bytes are not what the upload said they are, if so."""
    if not rules.looks_like(content_type, data[:16]):
        return f"The file is not {KINDS[content_type]}, whatever its name says."
    return None


def is_parsed(content_type: str) -> bool:
    """Only PDFs are read; an image is kept as it is."""
    return content_type == "application/pdf"


def result(recorded: UploadOutcome, failure: str | None, outcome: ParseOutcome | None) -> str:
    """What happened to an upload, in a word (for the log and the tests)."""
    if recorded != "recorded":
        return recorded
    if failure:
        return "parse_failed"
    return "parsed" if outcome is not None else "stored"


def refusal(
    attachment: Attachment, *, etag: str, version_id: str | None
) -> Literal["already recorded"] | SecurityAction:
    """Why an upload the attachment does not take changes nothing: the version on record again, a
    later version of it (the same form posted again), or a first file after the invoice closed."""
    if attachment.uploaded_at is None:
        return "attachment_too_late"
    if (attachment.etag, attachment.version_id) == (etag, version_id):
        return "already recorded"
    return "attachment_replaced"


def status_change(current: str, *, failure: str | None, parsed: bool) -> tuple[InvoiceUpdate, str]:
    """The status and parse error an upload's result leaves, and the audit action that says so.

    A parsed invoice stays parsed when another of its files fails; the reason is kept either way."""
    values: InvoiceUpdate = {}
    if failure is not None:
        values["parse_error"] = failure
        if rules.allows(current, "parse_failed", by="parser"):
            values["status"] = "parse_failed"
        return values, "invoice.parse_failed"
    if parsed:
        if rules.allows(current, "parsed", by="parser"):
            values.update({"status": "parsed", "parse_error": None})
        return values, "invoice.parsed"
    return values, "invoice.attachment_uploaded"


@dataclass(frozen=True, slots=True)
class Fill:
    """What a parse writes to its invoice: column values, and the service lines when they are replaced."""

    values: InvoiceUpdate
    lines: list[LineValues] = field(default_factory=list)
    """Empty when the invoice's lines stay as they are."""


@dataclass(slots=True)
class _Found:
    """A parse's findings as they are narrowed down to what may be filled."""

    invoice: Invoice
    at: str
    fields: dict[str, FoundField]
    items: list[LineValues]
    reasons: list[str]
    sources: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)

    def by_person(self, name: str) -> bool:
        return bool(self.sources.get(name, {}).get("by") == "person")

    def drop_amounts(self, names: tuple[str, ...], reason: str) -> None:
        self.fields = {name: found for name, found in self.fields.items() if name not in names}
        self.items = []
        self.reasons.append(reason)


def parsed_fill(invoice: Invoice, outcome: ParseOutcome, *, request_status: str | None, now: datetime) -> Fill:
    """The fields a parse fills, except those a person has set, and why a person should check them.

    `request_status` is the status of the payment request the invoice is linked to, if any."""
    found = _Found(
        invoice=invoice,
        at=now.isoformat(),
        fields=dict(outcome["fields"]),
        items=list(outcome["items"]),
        reasons=list(outcome.get("review_reasons", [])),
        sources=dict(invoice.field_sources),
    )
    _keep_document_type(found, outcome.get("document_type", "invoice"))
    if rules.amounts_frozen(request_status):
        # Its amounts are part of what the request's approvers approve: not changed behind them.
        found.drop_amounts(
            rules.AMOUNT_FIELDS,
            f"The invoice is linked to a payment request that is {request_status}; its amounts were not filled in.",
        )
    # Text read from a file is free text like any other: a card number in it is never stored.
    items: list[LineValues] = [
        {**item, "description": mask(item["description"])} if isinstance(item.get("description"), str) else item
        for item in found.items
    ]
    _fill_fields(found)
    _drop_amounts_that_do_not_fit(found)
    lines = _lines(found, items, outcome)
    if "tax" in found.sources and found.sources["tax"].get("by") == "parser" and outcome.get("taxes"):
        found.sources["tax"]["breakdown"] = outcome["taxes"]
    found.values["review_reasons"] = found.reasons
    found.values["field_sources"] = found.sources
    # The names are the columns of rules.FIELDS (and the two above): an InvoiceUpdate's keys.
    return Fill(cast("InvoiceUpdate", found.values), lines)


def _keep_document_type(found: _Found, parsed_type: str) -> None:
    if not found.by_person("document_type"):
        found.values["document_type"] = parsed_type
        found.sources["document_type"] = {"by": "parser", "at": found.at}
    elif found.invoice.document_type != parsed_type:
        # The person said what kind of document this is: amounts signed the other way are not filled in.
        found.drop_amounts(
            AMOUNTS, f"The file reads as a {parsed_type.replace('_', ' ')}; its amounts were not filled in."
        )


def _fill_fields(found: _Found) -> None:
    for name, read in found.fields.items():
        if found.by_person(name) or name not in rules.FIELDS:
            continue
        value = read["value"]
        if name in ("issue_date", "due_date") and isinstance(value, str):
            value = date.fromisoformat(value)
        elif isinstance(value, str):
            value = mask(value)
        found.values[name] = value
        found.sources[name] = {"by": "parser", **{k: v for k, v in read.items() if k != "value"}, "at": found.at}


def _drop_amounts_that_do_not_fit(found: _Found) -> None:
    currency = found.values.get("currency", found.invoice.currency)
    for name in AMOUNTS:
        if name in found.values and currency:
            try:
                check_fits(Decimal(found.values[name]), currency)
            except ValueError:
                found.values.pop(name)
                found.sources.pop(name)
    # Recorded as read, an amount of the wrong sign would make an invoice no person could save.
    current = _signed_values(found.invoice)
    while (wrong_sign := rules.sign_problem({**current, **found.values})) is not None and wrong_sign[0] in found.values:
        name, why = wrong_sign
        found.reasons.append(f"The {name} read from the file ({found.values.pop(name)}) was not filled in: the {why}.")
        found.sources.pop(name)


def _lines(found: _Found, items: list[LineValues], outcome: ParseOutcome) -> list[LineValues]:
    if not items or found.by_person("services"):
        return []
    found.sources["services"] = {
        "by": "parser",
        "confidence": outcome.get("items_confidence", 0.8),
        "count": len(items),
        "lineConfidences": outcome.get("item_confidences", []),
        "at": found.at,
    }
    return items


def _signed_values(invoice: Invoice) -> dict[str, Any]:
    """What `rules.sign_problem` reads of an invoice."""
    return {"document_type": invoice.document_type, **{name: getattr(invoice, name) for name in AMOUNTS}}
