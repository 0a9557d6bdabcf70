"""What the payment function's repository reads (one frozen record per table or view it reads) and
what it takes (typed changes and the lists' filters).

Changes and filters, which it only takes, are TypedDicts: each dataclass costs every cold start a
millisecond or two to build, a TypedDict next to nothing. A new row stays a dataclass, as the
record of the stored row extends it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from payreq.db.records import record

if TYPE_CHECKING:
    import uuid
    from datetime import datetime
    from decimal import Decimal


@record
class NewPaymentMethodRow:
    """A payment method as it is added."""

    id: uuid.UUID
    payee: str
    type: str
    label: str
    details: dict[str, Any]
    is_default: bool
    created_by: uuid.UUID | None
    created_at: datetime


@record
class PaymentMethodRecord(NewPaymentMethodRow):
    """A `payment_methods` row."""

    deleted_at: datetime | None
    version: int
    updated_at: datetime


class PaymentMethodUpdate(TypedDict, total=False):
    """The columns a change of a payment method sets; the ones left out stay as they are."""

    label: str | None
    details: dict[str, Any] | None
    is_default: bool | None
    deleted_at: datetime


@record
class NewPaymentRow:
    """A payment as it is recorded."""

    id: uuid.UUID
    payment_request_id: uuid.UUID
    payment_method_id: uuid.UUID | None
    amount: Decimal
    currency: str
    external_reference: str | None
    paid_at: datetime
    recorded_by: uuid.UUID
    created_at: datetime


@record
class PaymentRecord(NewPaymentRow):
    """A `payments` row: the payment as recorded, and its void if it was voided."""

    voided_at: datetime | None
    voided_by: uuid.UUID | None
    void_reason: str | None


@record
class RequestToPay:
    """The `payment_requests` columns a payment is checked against and changes."""

    id: uuid.UUID
    status: str
    payee: str
    amount: Decimal
    currency: str
    version: int


@record
class RequestPosition:
    """A payment request with what its live payments add up to."""

    id: uuid.UUID
    status: str
    amount: Decimal
    currency: str
    paid: Decimal


class PaymentFilter(TypedDict):
    """Which payments a list shows: of one request, made with one method, the void ones too."""

    pr_id: uuid.UUID | None
    method_id: uuid.UUID | None
    include_voided: bool


class MethodFilter(TypedDict):
    """Which payment methods a list shows: of one payee (any case), the removed ones too."""

    payee: str | None
    include_deleted: bool
