"""Request and response bodies of the payment function (camelCase JSON)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, model_validator
from stdnum import bic, iban
from stdnum.us import rtn

from payment_api.sensitive import last4
from payreq.http.models import ApiModel, RequestModel, field_error
from payreq.money import Amount, CurrencyCode, check_fits

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MethodType = Literal["bank_transfer", "card", "check", "wire", "other"]


def masked_details(method_type: str, details: dict[str, Any]) -> dict[str, Any]:
    """Validate a method's details for its type and keep only what may be stored."""

    def text(name: str, *, required: bool = False) -> str | None:
        value = details.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise field_error(f"details.{name}", f"details.{name} is required for {method_type}")
            return None
        if not isinstance(value, str) or len(value) > 200:
            raise field_error(f"details.{name}", f"details.{name} must be text of at most 200 characters")
        return value.strip()

    stored: dict[str, Any] = {}
    if method_type in ("bank_transfer", "wire"):
        account_iban, account = text("iban"), text("accountNumber")
        if account_iban:
            if not iban.is_valid(account_iban):
                raise field_error("details.iban", "details.iban is not a valid IBAN (its checksum fails)")
            compact = iban.compact(account_iban)
            stored["iban"] = f"{compact[:2]}** **** {compact[-4:]}"
        elif account:
            routing = text("routingNumber", required=method_type == "bank_transfer")
            if routing and not rtn.is_valid(routing):
                raise field_error("details.routingNumber", "details.routingNumber is not a valid ABA routing number")
            stored.update(accountLast4=last4(account), routingNumber=routing)
        else:
            raise field_error(
                "details.iban",
                f"details.iban, or details.accountNumber with a routing number, is required for {method_type}",
            )
        if method_type == "wire":
            swift = text("swiftBic", required=True)
            if not bic.is_valid(swift or ""):
                raise field_error("details.swiftBic", "details.swiftBic is not a valid BIC")
            stored["swiftBic"] = bic.compact(swift or "")
        stored["bankName"] = text("bankName")
    elif method_type == "card":
        brand, digits = text("brand", required=True), text("last4", required=True)
        month, year = details.get("expiryMonth"), details.get("expiryYear")
        if not (digits or "").isdigit() or len(digits or "") != 4:
            raise field_error("details.last4", "details.last4 must be exactly 4 digits")
        if not isinstance(month, int) or not 1 <= month <= 12 or not isinstance(year, int):
            raise field_error(
                "details.expiryMonth", "details.expiryMonth (1-12) and details.expiryYear are required for card"
            )
        if (year, month) < (datetime.now(UTC).year, datetime.now(UTC).month):
            raise field_error("details.expiryYear", "the card has expired")
        stored.update(brand=brand, last4=digits, expiryMonth=month, expiryYear=year)
    elif method_type == "check":
        stored["mailingAddress"] = text("mailingAddress", required=True)
    else:
        stored["description"] = text("description", required=True)
    return {key: value for key, value in stored.items() if value is not None}


class NewPaymentMethod(RequestModel):
    payee: Text
    type: MethodType
    label: Text
    details: dict[str, Any] = Field(default_factory=dict)
    is_default: bool = False

    @model_validator(mode="after")
    def _mask(self) -> Self:
        self.details = masked_details(self.type, self.details)
        return self


class PaymentMethodChanges(RequestModel):
    label: Text | None = None
    details: dict[str, Any] | None = None
    is_default: bool | None = None


class PaymentMethod(ApiModel):
    id: uuid.UUID
    payee: str
    type: str
    label: str
    details: dict[str, Any]
    is_default: bool
    deleted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class NewPayment(RequestModel):
    amount: Amount
    currency: CurrencyCode
    method_id: uuid.UUID | None = None
    external_reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    paid_at: datetime | None = None

    @model_validator(mode="after")
    def _fits(self) -> Self:
        try:
            check_fits(self.amount, self.currency)
        except ValueError as error:
            raise field_error("amount", str(error)) from None
        if self.paid_at is not None and self.paid_at.tzinfo is None:
            raise field_error("paidAt", "paidAt needs a time zone, e.g. 2026-11-22T10:15:00Z")
        return self


class VoidPayment(RequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class PaymentRequestPosition(ApiModel):
    id: uuid.UUID
    status: str
    amount: str
    paid: str
    outstanding: str


class Payment(ApiModel):
    id: uuid.UUID
    payment_request_id: uuid.UUID
    method_id: uuid.UUID | None
    amount: str
    currency: str
    external_reference: str | None
    paid_at: datetime
    recorded_by: uuid.UUID
    created_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    payment_request: PaymentRequestPosition
