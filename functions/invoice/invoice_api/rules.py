"""The rules of invoices that need no database: transitions and who makes them, who may verify, when
an attachment takes a file, duplicate keys, line checks, file names."""

from __future__ import annotations

import re
import unicodedata
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from payreq.errors import Conflict, detail

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import datetime

Actor = Literal["person", "parser"]
STATUSES = ("received", "parsed", "parse_failed", "verified", "paid", "rejected")

# status now -> who acts -> the statuses they may move it to (the invoice state machine; prose in
# docs/architecture.md). The parser reports what reading a file found; people verify or reject. A
# person may verify a received invoice: one entered by hand has nothing to parse. `paid` is no one's
# here: the payment that settles a request marks its invoices paid in its own transaction.
TRANSITIONS: dict[str, dict[Actor, frozenset[str]]] = {
    "received": {"parser": frozenset({"parsed", "parse_failed"}), "person": frozenset({"verified", "rejected"})},
    "parse_failed": {"parser": frozenset({"parsed"}), "person": frozenset({"verified", "rejected"})},
    "parsed": {"parser": frozenset(), "person": frozenset({"verified", "rejected"})},
    "verified": {"parser": frozenset(), "person": frozenset({"rejected"})},
    "paid": {"parser": frozenset(), "person": frozenset()},
    "rejected": {"parser": frozenset(), "person": frozenset()},
}
# While open, people edit an invoice, the parser fills its empty fields and files may be added; from
# verification on, what was checked is fixed.
EDITABLE = frozenset({"received", "parsed", "parse_failed"})
VERIFY_PERMISSION = "invoice.verify"

# What a linked payment request's approval covers (with the line items): frozen while it is under approval.
AMOUNT_FIELDS = ("currency", "subtotal", "tax", "total")


def amounts_frozen(linked_request_status: str | None) -> bool:
    """Whether the invoice's amounts are part of what a linked request's approvers approve (or did)."""
    return linked_request_status not in (None, "draft")


# Fields a person may set and the parser may fill (the parser never overwrites a person's value).
FIELDS = ("invoice_number", "vendor", "issue_date", "due_date", "currency", "subtotal", "tax", "total")

# The sign each amount must have, per document type: a credit note's amounts are negative.
# (Lines may be negative on both: discounts on an invoice, credited lines on a credit note.)
SIGNS: dict[str, dict[str, tuple[str, Callable[[Decimal], bool]]]] = {
    "invoice": {
        "subtotal": ("0 or more", lambda value: value >= 0),
        "tax": ("0 or more", lambda value: value >= 0),
        "total": ("greater than 0", lambda value: value > 0),
    },
    "credit_note": {
        "subtotal": ("0 or less", lambda value: value <= 0),
        "tax": ("0 or less", lambda value: value <= 0),
        "total": ("less than 0", lambda value: value < 0),
    },
}

CONTENT_TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
MAGIC = {"application/pdf": (b"%PDF-",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",)}


def allows(current: str, target: str, *, by: Actor) -> bool:
    return target in TRANSITIONS.get(current, {}).get(by, frozenset())


def ensure_transition(current: str, target: str, *, by: Actor = "person") -> None:
    if not allows(current, target, by=by):
        allowed = sorted(TRANSITIONS.get(current, {}).get(by, ()))
        raise Conflict(
            f"An invoice that is {current} cannot become {target}.",
            code="invalid_transition",
            details=[
                detail("status", f"{current} may become: {', '.join(allowed) or 'nothing'}", "invalid_transition")
            ],
        )


def takes_file(invoice_status: str, uploaded_at: datetime | None) -> bool:
    """An attachment takes one file, while its invoice is open: a grant is single use, and what was
    verified is fixed."""
    return uploaded_at is None and invoice_status in EDITABLE


def makers(
    created_by: uuid.UUID, field_sources: Mapping[str, Any], uploaders: Iterable[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Everyone whose hand is in the invoice as it stands: who created it, who entered a value it
    still holds, and who added any of its files. None of them may verify it."""
    entered = {
        uuid.UUID(source["userId"])
        for source in field_sources.values()
        if isinstance(source, dict) and source.get("by") == "person" and source.get("userId")
    }
    return frozenset({created_by, *entered, *uploaders})


_LEGAL_FORMS = re.compile(
    r"\b(?:gmbh|ag|kg|ohg|ug|ltd|limited|llc|inc|incorporated|corp|corporation|co|company|plc|sa|sas|sarl|bv|nv|"
    r"pty|srl|spa|ab|as|oy)\b"
)


def vendor_key(vendor: str | None) -> str | None:
    """`ACME Hardware GmbH`, `Acme  hardware` and `ACME-Hardware, G.m.b.H.` are one vendor."""
    if not vendor:
        return None
    text = unicodedata.normalize("NFKD", vendor).encode("ascii", "ignore").decode().casefold()
    text = text.replace(".", "").replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = _LEGAL_FORMS.sub(" ", text)
    key = "".join(text.split())
    return key or None


def invoice_number_key(number: str | None) -> str | None:
    """Case, spaces, dashes and other separators, and leading zeros do not make another number:
    `INV-0042`, `inv 42` and `INV42` are one invoice number."""
    if not number:
        return None
    leading_zeros = re.compile(r"(?<![0-9])0+(?=[0-9])")
    # Per group first (INV-2026-0042), then once the separators are gone (INV-0-0-42).
    text = leading_zeros.sub("", re.sub(r"[^0-9a-z]+", "", leading_zeros.sub("", number.casefold())))
    return text or None


def sign_problem(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, why) when an amount's sign does not fit the document type (an invoice by default)."""
    document_type = values.get("document_type") or "invoice"
    for name, (wanted, fits) in SIGNS[document_type].items():
        value = values.get(name)
        if value is not None and not fits(Decimal(value)):
            kind = "a credit note" if document_type == "credit_note" else "an invoice"
            return name, f"{name} of {kind} must be {wanted}"
    return None


def lines_problem(lines: Iterable[Mapping[str, Any]]) -> str | None:
    """Why a line's amount is not its quantity x unit price (beyond rounding to a cent), if so."""
    for position, line in enumerate(lines, start=1):
        expected = Decimal(line["quantity"]) * Decimal(line["unit_price"])
        if abs(expected - Decimal(line["amount"])) > Decimal("0.005") + abs(expected) * Decimal("0.0000001"):
            return f"line {position}: amount {line['amount']} is not quantity x unit price ({expected})"
    return None


def total_check(lines: Sequence[Mapping[str, Any]], tax: Decimal | None, total: Decimal | None) -> str:
    """`matches`, `mismatch`, or `unknown` when the lines or the total are not known yet."""
    if not lines or total is None:
        return "unknown"
    lines_sum = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
    return "matches" if abs(lines_sum + (tax or 0) - total) < Decimal("0.005") else "mismatch"


def safe_file_name(name: str, content_type: str) -> str:
    """A file name safe in an S3 key and a Content-Disposition header: ASCII letters, digits, - _ .
    (no path, no dot files), at most 100 characters, ending in the content type's extension."""
    base = unicodedata.normalize("NFKD", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = base.encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._-") or "attachment"
    stem, _, extension = base.rpartition(".")
    stem = stem.strip("._-")
    wanted = CONTENT_TYPES[content_type]
    if not stem or f".{extension.lower()}" not in (wanted, ".jpeg" if wanted == ".jpg" else wanted):
        stem = base
        extension = wanted.lstrip(".")
    return f"{stem[:90]}.{extension.lower()}"


def looks_like(content_type: str, head: bytes) -> bool:
    return any(head.startswith(magic) for magic in MAGIC.get(content_type, ()))
