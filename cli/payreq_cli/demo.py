"""`payreq seed-demo`: demo users and demo data, made through the same flows as the API.

Idempotent. Users are matched by e-mail (created, or granted what they lack). The data (an approval
flow, payment requests in each state, an invoice linked to one of them, a payment method) is made
in one transaction, keyed by the demo approval flow's name: present means seeded, so it is made
once and never twice. Each change is made by a demo user (the requester raises requests and enters
the invoice, the approver approves, finance verifies, as the maker-checker rules want); the request
id and user agent say `payreq seed-demo` did it. The local stack (`make run`) seeds with this same code.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from payreq.db import read_connection, transaction
from payreq.db.schema import approval_flow_templates
from payreq_cli.operator import operator_context

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from payreq.context import RequestContext

DEMO_USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alice@example.com": (
        "Alice Requester",
        ("pr.read", "pr.write", "invoice.read", "invoice.write", "tokens.manage"),
    ),
    "bob@example.com": ("Bob Approver", ("pr.read", "pr.approve", "invoice.read", "tokens.manage")),
    "carol@example.com": (
        "Carol Finance",
        (
            "pr.read",
            "pr.approve",
            "invoice.read",
            "invoice.write",
            "invoice.verify",
            "payment.read",
            "payment.write",
            "audit.read",
            "flows.manage",
            "webhooks.manage",
            "users.admin",
            "tokens.manage",
        ),
    ),
}
DEMO_FLOW = "Demo: approver, then finance"
# Fixed ids, so the sample events in events/ authenticate a demo user on any seeded database.
_DEMO_NAMESPACE = uuid.UUID("5b0d7c2e-8f1a-4c3b-9d6e-2a4f8e1c7b90")


def demo_user_id(email: str) -> uuid.UUID:
    return uuid.uuid5(_DEMO_NAMESPACE, email)


@dataclass(frozen=True)
class DemoSeed:
    users: dict[str, uuid.UUID]
    payment_requests: dict[str, str]  # title -> status, when this run made them; empty when already there
    invoices: int = 0
    payment_methods: int = 0

    def describe(self) -> str:
        if not self.payment_requests:
            return f"demo users ready ({len(self.users)}); demo data already present (approval flow {DEMO_FLOW!r})"
        states = ", ".join(sorted(self.payment_requests.values()))
        return (
            f"demo users ready ({len(self.users)}); made 1 approval flow, {len(self.payment_requests)} payment "
            f"requests ({states}), {self.invoices} invoice, {self.payment_methods} payment method"
        )


def seed_demo(engine: Engine) -> DemoSeed:
    now = datetime.now(UTC)
    operator = operator_context("seed-demo")
    users = {
        email: _ensure_user(engine, operator, email, name, perms, now) for email, (name, perms) in DEMO_USERS.items()
    }
    with transaction(engine) as connection:
        if connection.scalar(select(approval_flow_templates.c.id).where(approval_flow_templates.c.name == DEMO_FLOW)):
            return DemoSeed(users, {})
        as_user = {
            email: dataclasses.replace(operator, user_id=users[email], permissions=frozenset(perms))
            for email, (_, perms) in DEMO_USERS.items()
        }
        made = _demo_data(
            connection, as_user["alice@example.com"], as_user["bob@example.com"], as_user["carol@example.com"], now
        )
    return DemoSeed(users, made, invoices=1, payment_methods=1)


def _ensure_user(
    engine: Engine, operator: RequestContext, email: str, name: str, permissions: tuple[str, ...], now: datetime
) -> uuid.UUID:
    from auth_api import user_admin
    from auth_api.models import NewUser
    from payreq.auth.users import find_user_by_email

    with read_connection(engine) as connection:
        user = find_user_by_email(connection, email)
    if user is None:
        request = NewUser(email=email, display_name=name, permissions=list(permissions))
        with transaction(engine) as connection:
            return user_admin.create(connection, operator, request, now=now, user_id=demo_user_id(email)).id
    if not set(permissions) <= set(user["permissions"]):
        with transaction(engine) as connection:
            user_admin.grant(connection, operator, email, permissions, now=now)
    return user["id"]  # type: ignore[no-any-return]


def _demo_data(
    connection: Connection, alice: RequestContext, bob: RequestContext, carol: RequestContext, now: datetime
) -> dict[str, str]:
    from invoice_api import flows as invoices
    from invoice_api.models import NewInvoice, StatusChange
    from payment_api import flows as payments
    from payment_api.models import NewPaymentMethod
    from pr_api import flows as prs
    from pr_api import templates
    from pr_api.models import NewApprovalFlowTemplate, NewPaymentRequest

    assert bob.user_id is not None and carol.user_id is not None
    flow_id = templates.create(
        connection,
        carol,
        NewApprovalFlowTemplate.model_validate(
            {
                "name": DEMO_FLOW,
                "description": "Any approver, then finance for amounts from 1,000.",
                "steps": [
                    {"name": "Approver", "mode": "anyof", "approvers": [bob.user_id, carol.user_id]},
                    {"name": "Finance", "mode": "anyof", "approvers": [carol.user_id], "threshold": "1000"},
                ],
            }
        ),
        now=now,
    )

    def raise_request(title: str, payee: str, amount: str) -> uuid.UUID:
        request = NewPaymentRequest(
            title=title,
            description="Demo data from payreq seed-demo.",
            payee=payee,
            amount=Decimal(amount),
            currency="EUR",
            due_date=date.today() + timedelta(days=30),
            cost_centre="DEMO",
            approval_flow_template_id=flow_id,
        )
        return prs.create(connection, alice, request, now=now)

    made: dict[str, str] = {}
    raise_request("Team offsite catering", "Gourmet Events GmbH", "640.00")
    made["Team offsite catering"] = "draft"

    pending = raise_request("Laptop replacements", "TechSupply BV", "4200.00")
    prs.submit(connection, alice, pending, now=now)
    made["Laptop replacements"] = "pending"

    invoice = invoices.create(
        connection,
        alice,
        NewInvoice.model_validate(
            {
                "number": "SFS-2026-0412",
                "vendor": "Sparkle Facility Services",
                "issueDate": date.today().isoformat(),
                "dueDate": (date.today() + timedelta(days=30)).isoformat(),
                "currency": "EUR",
                "subtotal": "1554.62",
                "tax": "295.38",
                "total": "1850.00",
            }
        ),
        now=now,
    )
    # Alice entered it, so finance verifies it.
    read = invoices.view(connection, invoice).version
    invoices.change_status(connection, carol, invoice, StatusChange(status="verified"), version=read, now=now)
    approved = raise_request("Office cleaning, Q4", "Sparkle Facility Services", "1850.00")
    # The invoice is linked before approval: it is part of what the approvers approve.
    prs.link_invoice(connection, alice, approved, invoice, now=now)
    prs.submit(connection, alice, approved, now=now)
    for approver, comment in ((bob, "Contract rate, as agreed."), (carol, "Budgeted.")):
        # Each decides on the version they read, as the API's If-Match has them do.
        seen = prs.view(connection, approved).version
        prs.approve(connection, approver, approved, read_version=seen, comment=comment, now=now)
    made["Office cleaning, Q4"] = "approved"

    rejected = raise_request("Espresso machine", "Barista Direct", "2999.00")
    prs.submit(connection, alice, rejected, now=now)
    seen = prs.view(connection, rejected).version
    prs.reject(connection, bob, rejected, read_version=seen, comment="Not this quarter.", now=now)
    made["Espresso machine"] = "rejected"

    payments.add_method(
        connection,
        carol,
        NewPaymentMethod.model_validate(
            {
                "payee": "Sparkle Facility Services",
                "type": "bank_transfer",
                "label": "Main account",
                "details": {"iban": "DE89 3704 0044 0532 0130 00"},
                "isDefault": True,
            }
        ),
        now=now,
    )
    return made
