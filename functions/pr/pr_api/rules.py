"""The rules of payment requests that need no database: transitions, steps, material fields."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from payreq.errors import Conflict, PreconditionFailed, detail, stale_version

if TYPE_CHECKING:
    import uuid
    from collections.abc import Collection, Iterable, Mapping

    from pr_api.records import DelegationRecord, Flow, PaymentRequestRecord

Action = Literal["edit", "submit", "approve", "reject", "unapprove", "cancel", "link", "delete"]

# From which statuses each action may start. rejected, cancelled and paid are terminal here
# (paid changes only through payments being voided).
ALLOWED_FROM: dict[Action, frozenset[str]] = {
    "edit": frozenset({"draft", "pending", "approved"}),
    "submit": frozenset({"draft"}),
    "approve": frozenset({"pending"}),
    "reject": frozenset({"pending"}),
    "unapprove": frozenset({"pending", "approved"}),
    "cancel": frozenset({"draft", "pending", "approved"}),
    # Once approved, the linked invoices are part of what was approved: no more changes to them.
    "link": frozenset({"draft", "pending"}),
    # Once submitted, approvers have seen it: it keeps its history and is cancelled instead.
    "delete": frozenset({"draft"}),
}

MATERIAL_FIELDS = ("amount", "currency", "payee", "approval_flow")


def ensure_allowed(action: Action, status: str) -> None:
    if status not in ALLOWED_FROM[action]:
        raise Conflict(
            f"A payment request that is {status} cannot be {_PAST[action]}.",
            code="invalid_transition",
            details=[detail("status", f"{action} is not allowed from {status}", "invalid_transition")],
        )


_PAST: dict[Action, str] = {
    "edit": "edited",
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "unapprove": "unapproved",
    "cancel": "cancelled",
    "link": "linked to invoices",
    "delete": "deleted",
}


def needed(step: Mapping[str, Any]) -> int:
    """How many approvals complete the step (anyof 1, allof all, or its explicit `required`)."""
    return int(step.get("required") or (1 if step["mode"] == "anyof" else len(step["approvers"])))


def applicable_steps(flow: Flow, amount: Decimal) -> Flow:
    """The steps that apply to `amount`: a step with a threshold applies at or above it."""
    return [step for step in flow if step.get("threshold") is None or amount >= Decimal(str(step["threshold"]))]


def material_hash(
    amount: Decimal,
    currency: str,
    payee: str,
    flow: Flow,
    invoices: Iterable[tuple[uuid.UUID | str, Decimal | None]] = (),
) -> bytes:
    """What an approver saw, fingerprinted: the approval is evidence for exactly these terms, the
    linked invoices (each one's id and total) included."""
    canonical = json.dumps(
        {
            "amount": str(amount.normalize()),
            "currency": currency,
            "payee": payee,
            "flow": flow,
            "invoices": sorted(
                [str(invoice_id), None if total is None else str(total.normalize())] for invoice_id, total in invoices
            ),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).digest()


def is_material(changes: Mapping[str, object], current: PaymentRequestRecord) -> bool:
    return any(field in changes and changes[field] != getattr(current, field) for field in MATERIAL_FIELDS)


def ensure_decided_on_current_terms(read_version: int, *, version: int, material_version: int) -> None:
    """A decision binds to what the approver read (`If-Match`): refused when the material terms
    changed after that version. Other people's decisions in between only move `version`, so parallel
    approvers of one step never make each other stale."""
    if read_version > version:
        raise PreconditionFailed(
            "That version of the payment request does not exist; reload it.",
            details=[stale_version(version)],
        )
    if read_version < material_version:
        raise PreconditionFailed(
            "The amount, currency, payee, approval flow or linked invoices changed since you read this payment "
            "request; reload it and decide on what it says now.",
            details=[stale_version(version, material_version=material_version)],
        )


def unfulfillable_step(
    steps: Iterable[Mapping[str, Any]], *, makers: Collection[str], eligible: Collection[str]
) -> str | None:
    """The name of the first step that could never complete: fewer eligible approvers (active users
    other than the requester and last editor, who may not approve) than it needs."""
    for step in steps:
        approvers = {str(approver) for approver in step["approvers"]}
        if len((approvers & set(eligible)) - set(makers)) < needed(step):
            return str(step["name"])
    return None


def delegation_covers(
    delegation: DelegationRecord, *, template_id: uuid.UUID | None, amount: Decimal, currency: str
) -> bool:
    """Whether an active delegation reaches this request: its flow (when it names flows; a request
    with its own flow, from no template, is then outside it) and its amount (when it has a limit,
    in the limit's currency only: no exchange rate decides who may approve)."""
    if delegation.flow_template_ids is not None and template_id not in delegation.flow_template_ids:
        return False
    if delegation.amount_limit is not None:
        return currency == delegation.limit_currency and amount <= delegation.amount_limit
    return True
