"""What reading an invoice produces: plain, picklable records (they cross from the bounded child)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

DocumentType = Literal["invoice", "credit_note"]


@dataclass(frozen=True)
class Field:
    """One header field: its value, how sure we are, and where on the document it was read."""

    value: str | date | Decimal
    confidence: float
    page: int
    line: int
    # The evidence behind the confidence, in words (for people reviewing and for calibration).
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    page: int
    line: int
    confidence: float = 0.5
    tax_rate: Decimal | None = None


@dataclass(frozen=True)
class Tax:
    """One line of a tax breakdown: its rate when printed, and its amount."""

    rate: Decimal | None
    amount: Decimal


@dataclass
class Reading:
    """Everything read from one document."""

    document_type: DocumentType = "invoice"
    fields: dict[str, Field] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    taxes: list[Tax] = field(default_factory=list)
    items_confidence: float = 0.0
    review_reasons: list[str] = field(default_factory=list)
    language: str | None = None
    # Set when the document is an image with (almost) no text layer: why we think so.
    scan: str | None = None

    @property
    def needs_review(self) -> bool:
        return bool(self.review_reasons)
