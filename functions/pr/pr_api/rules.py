"""The rules of payment requests that need no database: transitions, steps, material fields."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from payreq.errors import Conflict

if TYPE_CHECKING:
    from collections.abc import Mapping

Action = Literal["edit", "submit", "approve", "reject", "unapprove", "cancel", "link"]

# From which statuses each action may start. rejected, cancelled and paid are terminal here
# (paid changes only through payments being voided).
ALLOWED_FROM: dict[Action, frozenset[str]] = {
    "edit": frozenset({"draft", "pending", "approved"}),
    "submit": frozenset({"draft"}),
    "approve": frozenset({"pending"}),
    "reject": frozenset({"pending"}),
    "unapprove": frozenset({"pending", "approved"}),
    "cancel": frozenset({"draft", "pending", "approved"}),
    "link": frozenset({"draft", "pending", "approved"}),
}

MATERIAL_FIELDS = ("amount", "currency", "payee", "approval_flow")


def ensure_allowed(action: Action, status: str) -> None:
    if status not in ALLOWED_FROM[action]:
        raise Conflict(
            f"A payment request that is {status} cannot be {_PAST[action]}.",
            code="invalid_transition",
            details={"status": status, "action": action},
        )


_PAST: dict[Action, str] = {
    "edit": "edited",
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "unapprove": "unapproved",
    "cancel": "cancelled",
    "link": "linked to invoices",
}


def needed(step: dict[str, Any]) -> int:
    """How many approvals complete the step (anyof 1, allof all, or its explicit `required`)."""
    return int(step.get("required") or (1 if step["mode"] == "anyof" else len(step["approvers"])))


def applicable_steps(flow: list[dict[str, Any]], amount: Decimal) -> list[dict[str, Any]]:
    """The steps that apply to `amount`: a step with a threshold applies at or above it."""
    return [step for step in flow if step.get("threshold") is None or amount >= Decimal(str(step["threshold"]))]


def material_hash(amount: Decimal, currency: str, payee: str, flow: list[dict[str, Any]]) -> bytes:
    """What an approver saw, fingerprinted: the approval is evidence for exactly these terms."""
    canonical = json.dumps(
        {"amount": str(amount.normalize()), "currency": currency, "payee": payee, "flow": flow},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).digest()


def is_material(changes: Mapping[str, Any], current: Mapping[Any, Any]) -> bool:
    return any(field in changes and changes[field] != current[field] for field in MATERIAL_FIELDS)
