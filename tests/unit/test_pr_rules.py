"""The payment-request rules that need no database: which action may start from which status,
when a decision is stale, which flows could never complete, which requests a delegation covers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from payreq.errors import Conflict, PreconditionFailed
from pr_api import rules
from pr_api.records import DelegationRecord

STATUSES = ("draft", "pending", "approved", "paid", "rejected", "cancelled")
ACTIONS = ("edit", "submit", "approve", "reject", "unapprove", "cancel", "link", "delete")

# The state machine as a person would describe it: the one place a reviewer checks the rules against.
# Every action missing from a status's row is refused with 409 invalid_transition.
ALLOWED: dict[str, set[str]] = {
    # Only a draft may be deleted: once submitted, approvers have seen it (cancel it instead).
    "draft": {"edit", "submit", "cancel", "link", "delete"},
    "pending": {"edit", "approve", "reject", "unapprove", "cancel", "link"},
    # Approved: the linked invoices are part of what was approved, so no more link changes.
    "approved": {"edit", "unapprove", "cancel"},
    "paid": set(),
    "rejected": set(),
    "cancelled": set(),
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_from_every_status(status: str, action: str) -> None:
    if action in ALLOWED[status]:
        rules.ensure_allowed(action, status)  # type: ignore[arg-type]
        return
    with pytest.raises(Conflict) as refused:
        rules.ensure_allowed(action, status)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_transition"
    assert refused.value.details == [
        {"field": "status", "message": f"{action} is not allowed from {status}", "code": "invalid_transition"}
    ]


def test_the_table_covers_every_action_the_rules_know() -> None:
    assert set(rules.ALLOWED_FROM) == set(ACTIONS)


@pytest.mark.parametrize(
    ("read", "version", "material_version", "current"),
    [
        (3, 3, 3, True),  # read the latest version
        (3, 7, 3, True),  # four decisions by others since: nothing material changed
        (2, 7, 3, False),  # read before the material change at version 3
        (8, 7, 3, False),  # a version never served
    ],
)
def test_a_decision_is_current_unless_the_terms_changed_after_it_was_read(
    read: int, version: int, material_version: int, current: bool
) -> None:
    if current:
        rules.ensure_decided_on_current_terms(read, version=version, material_version=material_version)
    else:
        with pytest.raises(PreconditionFailed):
            rules.ensure_decided_on_current_terms(read, version=version, material_version=material_version)


def step(name: str, mode: str, *approvers: str, required: int | None = None) -> dict[str, object]:
    return {"name": name, "mode": mode, "approvers": list(approvers), "required": required}


@pytest.mark.parametrize(
    ("steps", "makers", "eligible", "unfulfillable"),
    [
        ([step("A", "anyof", "bob")], {"rita"}, {"bob"}, None),
        ([step("Self", "anyof", "rita")], {"rita"}, {"rita"}, "Self"),
        ([step("A", "anyof", "bob"), step("B", "allof", "rita", "carol")], {"rita"}, {"bob", "rita", "carol"}, "B"),
        ([step("Two", "anyof", "bob", "carol", "rita", required=2)], {"rita"}, {"bob", "carol", "rita"}, None),
        ([step("Two", "anyof", "bob", "carol", "rita", required=2)], {"rita"}, {"bob", "rita"}, "Two"),
        ([step("Editor", "anyof", "max", "rita")], {"rita", "max"}, {"max", "rita"}, "Editor"),
    ],
    ids=["fine", "only the requester", "allof needs the requester", "2 of 3", "one left", "the last editor"],
)
def test_a_step_with_fewer_eligible_approvers_than_it_needs_is_named(
    steps: list[dict[str, object]], makers: set[str], eligible: set[str], unfulfillable: str | None
) -> None:
    assert rules.unfulfillable_step(steps, makers=makers, eligible=eligible) == unfulfillable


def test_the_material_fingerprint_covers_the_linked_invoices() -> None:
    terms = (Decimal("100.00"), "EUR", "ACME", [{"name": "M", "mode": "anyof", "approvers": ["bob"]}])
    alone = rules.material_hash(*terms)
    with_invoice = rules.material_hash(*terms, [("9f0e", Decimal("100.00"))])
    other_total = rules.material_hash(*terms, [("9f0e", Decimal("99.00"))])

    assert len({alone, with_invoice, other_total}) == 3
    assert rules.material_hash(*terms, [("a", Decimal(1)), ("b", None)]) == rules.material_hash(
        *terms, [("b", None), ("a", Decimal("1.00"))]
    )


def _delegation(**limits: object) -> DelegationRecord:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "delegator_id": uuid.uuid4(),
        "delegate_id": uuid.uuid4(),
        "starts_at": now,
        "ends_at": now + timedelta(days=7),
        "flow_template_ids": None,
        "amount_limit": None,
        "limit_currency": None,
        "reason": "",
        "created_at": now,
        "created_by": uuid.uuid4(),
        "revoked_at": None,
        "revoked_by": None,
        "version": 1,
    }
    return DelegationRecord(**{**fields, **limits})  # type: ignore[arg-type]


HARDWARE, MARKETING = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("limits", "template", "amount", "currency", "covered"),
    [
        ({}, None, "1000000", "EUR", True),  # every flow, any amount
        ({"flow_template_ids": [HARDWARE]}, HARDWARE, "10", "EUR", True),
        ({"flow_template_ids": [HARDWARE]}, MARKETING, "10", "EUR", False),
        ({"flow_template_ids": [HARDWARE]}, None, "10", "EUR", False),  # a request with its own flow
        ({"amount_limit": Decimal("1250"), "limit_currency": "EUR"}, None, "1250.00", "EUR", True),  # up to
        ({"amount_limit": Decimal("1250"), "limit_currency": "EUR"}, None, "1250.01", "EUR", False),
        ({"amount_limit": Decimal("1250"), "limit_currency": "EUR"}, None, "10", "USD", False),  # no exchange rate
    ],
)
def test_a_delegation_covers_the_requests_of_its_flows_up_to_its_limit(
    limits: dict[str, object], template: uuid.UUID | None, amount: str, currency: str, covered: bool
) -> None:
    delegation = _delegation(**limits)

    assert (
        rules.delegation_covers(delegation, template_id=template, amount=Decimal(amount), currency=currency) is covered
    )
