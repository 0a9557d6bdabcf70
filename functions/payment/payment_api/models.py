"""Request and response bodies of the payment function (camelCase JSON)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from payment_api.method_details import masked_details
from payreq.http.models import ApiModel, RequestModel, field_error
from payreq.money import Amount, CurrencyCode, check_fits

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MethodType = Literal["bank_transfer", "card", "check", "wire", "other"]


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
