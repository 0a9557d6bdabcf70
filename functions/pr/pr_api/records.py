"""What the payment-request repository reads (one frozen record per table or view it reads) and
what it takes (typed changes and the list's filter).

Changes and filters, which it only takes, are TypedDicts: each dataclass costs every cold start a
millisecond or two to build, a TypedDict next to nothing. A new row stays a dataclass, as the
record of the stored row extends it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from payreq.db.records import record

if TYPE_CHECKING:
    import uuid
    from datetime import date, datetime
    from decimal import Decimal

Flow = list[dict[str, Any]]
"""An approval flow as JSON, as the requester wrote it: `[{name, mode, approvers, required, threshold}]`."""


@record
class NewPaymentRequestRow:
    """A request as it is created: the `payment_requests` columns its creator sets."""

    id: uuid.UUID
    number: str
    title: str
    description: str
    payee: str
    amount: Decimal
    currency: str
    due_date: date | None
    cost_centre: str | None
    approval_flow: Flow
    approval_flow_template_id: uuid.UUID | None
    status: str
    requester_id: uuid.UUID
    last_editor_id: uuid.UUID
    material_version: int
    material_hash: bytes
    created_at: datetime
    updated_at: datetime


@record
class PaymentRequestRecord(NewPaymentRequestRow):
    """A `payment_requests` row: what its creator set, and what approval and edits move since."""

    approval_round: int
    current_step: int | None
    submitted_at: datetime | None
    decided_at: datetime | None
    version: int


@record
class ListedRequest(PaymentRequestRecord):
    """A request with its linked invoices' count and total and its current round's steps, as lists
    show it."""

    invoice_count: int
    invoices_total: Decimal
    steps: list[StepWithApprovals]


@record
class LinkedInvoice:
    id: uuid.UUID
    reference: str
    invoice_number: str | None
    vendor: str | None
    currency: str | None
    total: Decimal | None
    status: str


class RequestUpdate(TypedDict, total=False):
    """The columns a change of a request sets; the ones left out stay as they are."""

    title: str | None
    description: str | None
    payee: str | None
    amount: Decimal | None
    currency: str | None
    due_date: date | None
    cost_centre: str | None
    approval_flow: Flow
    status: str
    current_step: int | None
    approval_round: int
    last_editor_id: uuid.UUID
    submitted_at: datetime
    decided_at: datetime | None
    material_version: int
    material_hash: bytes


class UserRefJson(TypedDict):
    """A user as a reference to them shows them: id and display name."""

    id: str
    displayName: str


class ApprovalJson(TypedDict):
    """A live decision on a step, as JSON in the API's own shape."""

    approverId: str
    onBehalfOf: UserRefJson | None
    decision: str
    comment: str | None
    createdAt: str
    materialHash: str


@record
class StepRecord:
    """An `approval_steps` row: one step of one round, frozen from the flow at submit."""

    id: uuid.UUID
    payment_request_id: uuid.UUID
    round: int
    position: int
    name: str
    mode: str
    required: int
    approvers: list[uuid.UUID]
    completed_at: datetime | None


@record
class StepWithApprovals(StepRecord):
    approvals: list[ApprovalJson]


@record
class ViewedRequest(ListedRequest):
    """A request with its linked invoices themselves, as its own page shows it."""

    invoices: list[LinkedInvoice]


@record
class MyApproval:
    """One of an approver's live approvals in a round, and the position of its step."""

    id: uuid.UUID
    position: int


class NewDecision(TypedDict):
    payment_request_id: uuid.UUID
    step_id: uuid.UUID
    approver_id: uuid.UUID
    on_behalf_of: uuid.UUID | None
    decision: str
    comment: str | None
    created_at: datetime
    material_hash: bytes


@record
class StepDecider:
    """Someone's live decision on a step: who acted, and for whom (None: for themselves)."""

    approver_id: uuid.UUID
    on_behalf_of: uuid.UUID | None


@record
class InvoiceToLink:
    """An invoice as linking sees it: its currency, and the request it is linked to, if any."""

    id: uuid.UUID
    currency: str | None
    status: str
    payment_request_id: uuid.UUID | None


class PaymentRequestFilter(TypedDict):
    """Which requests a list shows; each criterion that is not None narrows it. (`awaiting`: only
    the pending requests whose current step this user may still decide.)"""

    status: str | None
    requester: uuid.UUID | None
    awaiting: uuid.UUID | None
    text: str | None
    amount_min: Decimal | None
    amount_max: Decimal | None
    created_from: datetime | None
    created_to: datetime | None


@record
class NewTemplateRow:
    """A template as it is created."""

    id: uuid.UUID
    name: str
    description: str
    steps: Flow
    created_by: uuid.UUID | None
    created_at: datetime


@record
class TemplateRecord(NewTemplateRow):
    """An `approval_flow_templates` row."""

    version: int
    updated_at: datetime


class TemplateUpdate(TypedDict, total=False):
    name: str | None
    description: str | None
    steps: Flow


# --- approval delegations -----------------------------------------------------------------------


@record
class NewDelegationRow:
    """A delegation as it is created: the `approval_delegations` columns its creator sets."""

    id: uuid.UUID
    delegator_id: uuid.UUID
    delegate_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    flow_template_ids: list[uuid.UUID] | None
    amount_limit: Decimal | None
    limit_currency: str | None
    reason: str
    created_at: datetime
    created_by: uuid.UUID


@record
class DelegationRecord(NewDelegationRow):
    """An `approval_delegations` row."""

    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    version: int


@record
class ListedDelegation(DelegationRecord):
    """A delegation with its two people's display names, as the API shows it."""

    delegator_name: str
    delegate_name: str
