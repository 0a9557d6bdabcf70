"""Request and response bodies of the payment-request function (camelCase JSON)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from payreq.http.models import ApiModel, RequestModel, field_error
from payreq.money import Amount, CurrencyCode, check_fits

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
MAX_STEPS = 10
MAX_APPROVERS = 50


class StepDefinition(RequestModel):
    """One step of an approval flow: `required` of the `approvers` must approve (anyof = 1,
    allof = all). With a `threshold` the step applies only to amounts at or above it."""

    name: Text
    mode: Literal["anyof", "allof"]
    approvers: list[uuid.UUID] = Field(min_length=1, max_length=MAX_APPROVERS)
    required: int | None = Field(default=None, ge=1)
    threshold: Amount | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.approvers)) != len(self.approvers):
            raise field_error("approvers", "an approver is listed twice")
        if self.required is not None and self.required > len(self.approvers):
            raise field_error("required", "required is more than the number of approvers")
        if self.mode == "allof" and self.required not in (None, len(self.approvers)):
            raise field_error("required", "an allof step needs every approver; use anyof with required for 'n of m'")
        return self

    @property
    def needed(self) -> int:
        return self.required or (1 if self.mode == "anyof" else len(self.approvers))


ApprovalFlow = Annotated[list[StepDefinition], Field(min_length=1, max_length=MAX_STEPS)]


def _amount_fits(amount: Any, currency: Any) -> None:
    if amount is not None and currency is not None:
        try:
            check_fits(amount, currency)
        except ValueError as error:
            raise field_error("amount", str(error)) from None


class NewPaymentRequest(RequestModel):
    title: Text
    description: LongText = ""
    payee: Text
    amount: Amount
    currency: CurrencyCode
    due_date: date | None = None
    cost_centre: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    approval_flow: ApprovalFlow | None = None
    approval_flow_template_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _amount_fits(self.amount, self.currency)
        if (self.approval_flow is None) == (self.approval_flow_template_id is None):
            raise field_error("approvalFlow", "give either approvalFlow or approvalFlowTemplateId")
        return self


class PaymentRequestChanges(RequestModel):
    title: Text | None = None
    description: LongText | None = None
    payee: Text | None = None
    amount: Amount | None = None
    currency: CurrencyCode | None = None
    due_date: date | None = None
    cost_centre: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    approval_flow: ApprovalFlow | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _amount_fits(self.amount, self.currency)
        return self


class Decision(RequestModel):
    comment: Comment | None = None
    on_behalf_of: uuid.UUID | None = Field(
        default=None,
        description="Decide as the delegate of this approver of the current step (an active delegation from them "
        "to you must cover the request). Left out: your own decision if you are an approver of the step, else on "
        "behalf of the one approver whose delegation to you applies (422 delegation_ambiguous when several do).",
    )


class InvoiceLink(RequestModel):
    invoice_id: uuid.UUID


class UserRef(ApiModel):
    id: uuid.UUID
    display_name: str


class ApprovalView(ApiModel):
    approver_id: uuid.UUID = Field(description="Who decided: the delegate, when on behalf of someone.")
    on_behalf_of: UserRef | None = Field(
        default=None, description="The approver this decision was made for, through a delegation; null: their own."
    )
    decision: str
    comment: str | None
    created_at: datetime
    material_hash: str = Field(description="Fingerprint (SHA-256, hex) of the terms this decision was made on.")


class StepView(ApiModel):
    position: int
    name: str
    mode: str
    required: int
    approvers: list[uuid.UUID]
    completed_at: datetime | None
    approvals: list[ApprovalView]


class InvoiceSummary(ApiModel):
    id: uuid.UUID
    reference: str
    invoice_number: str | None
    vendor: str | None
    currency: str | None
    total: str | None
    status: str


class PaymentRequestSummary(ApiModel):
    id: uuid.UUID
    number: str
    title: str
    description: str
    payee: str
    amount: str
    currency: str
    due_date: date | None
    cost_centre: str | None
    status: str
    current_step: int | None
    approval_round: int
    requester_id: uuid.UUID
    last_editor_id: uuid.UUID
    approval_flow: list[dict[str, Any]]
    approval_flow_template_id: uuid.UUID | None
    version: int
    material_version: int = Field(
        description="The version at which amount, currency, payee, flow or linked invoices last changed: "
        "a decision sent with an older If-Match is refused (412)."
    )
    material_hash: str = Field(
        description="Fingerprint (SHA-256, hex) of the current material terms; each approval shows the one it "
        "was made on."
    )
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    steps: list[StepView]
    invoice_count: int
    invoices_total: str


class PaymentRequestView(PaymentRequestSummary):
    invoices: list[InvoiceSummary]


class NewApprovalFlowTemplate(RequestModel):
    name: Text
    description: LongText = ""
    steps: ApprovalFlow


class ApprovalFlowTemplateChanges(RequestModel):
    name: Text | None = None
    description: LongText | None = None
    steps: ApprovalFlow | None = None


class ApprovalFlowTemplateView(ApiModel):
    id: uuid.UUID
    name: str
    description: str
    steps: list[dict[str, Any]]
    version: int
    created_at: datetime
    updated_at: datetime


MAX_DELEGATION_DAYS = 366


class NewDelegation(RequestModel):
    """The caller hands their approval rights to `delegateId` from `startsAt` (now when left out)
    until `endsAt` (exclusive)."""

    delegate_id: uuid.UUID
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime
    flow_template_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Only requests raised from these approval flow templates; null: every flow.",
    )
    amount_limit: Amount | None = Field(default=None, description="Only requests up to this amount, in limitCurrency.")
    limit_currency: CurrencyCode | None = None
    reason: LongText = ""

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if (self.amount_limit is None) != (self.limit_currency is None):
            raise field_error("amountLimit", "give amountLimit and limitCurrency together, or neither")
        _amount_fits(self.amount_limit, self.limit_currency)
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise field_error("endsAt", "endsAt must be after startsAt")
        return self


class DelegationView(ApiModel):
    id: uuid.UUID
    delegator: UserRef
    delegate: UserRef
    starts_at: datetime
    ends_at: datetime = Field(description="Exclusive: the delegation ends at this instant.")
    flow_template_ids: list[uuid.UUID] | None
    amount_limit: str | None
    limit_currency: str | None
    reason: str
    status: Literal["scheduled", "active", "ended", "revoked"]
    created_at: datetime
    created_by: uuid.UUID
    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    version: int
