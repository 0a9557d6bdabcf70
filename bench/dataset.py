"""The data every benchmark reads and writes, made through the product's own flows.

People: alice raises requests, bob approves them (the demo users of `make run`), and 50 more
approvers for the contention run. Requests: one "showcase" request as a user would open it (two
steps, an approval given, two invoices linked), enough more like it that a list's page of 50 is
full (a page of the demo data alone would be five requests, whatever its limit), and a pool of
pending requests that bob may approve, one per approval measured; one approved request paid in 60
instalments. Invoices: enough for a full page.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.schema import user_permissions, users

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

APPROVER = ("pr.read", "pr.approve")


@dataclass
class Person:
    id: uuid.UUID
    permissions: tuple[str, ...]

    def context(self) -> RequestContext:
        return RequestContext(
            request_id=f"bench-{uuid.uuid4().hex[:12]}",
            user_id=self.id,
            permissions=frozenset(self.permissions),
            auth_method="session",
        )


@dataclass
class Dataset:
    alice: Person
    bob: Person
    carol: Person
    showcase: uuid.UUID
    invoices: list[uuid.UUID]
    approvable: list[uuid.UUID] = field(default_factory=list)

    def take_approvable(self) -> uuid.UUID:
        return self.approvable.pop()


def build(engine: Engine, *, approvable: int, invoices: int = 60, requests: int = 60) -> Dataset:
    from invoice_api import flows as invoice_flows
    from invoice_api.models import NewInvoice
    from payreq_local.seed import DEMO_USERS, seed

    ids = seed(engine).users  # the demo users (and the demo data: a few requests of every kind)
    people = {email: Person(ids[email], DEMO_USERS[email][1]) for email in ids}
    alice, bob, carol = people["alice@example.com"], people["bob@example.com"], people["carol@example.com"]
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        invoice_ids = [
            invoice_flows.create(
                connection,
                carol.context(),
                NewInvoice.model_validate(
                    {"number": f"INV-{n:05d}", "vendor": "ACME GmbH", "currency": "EUR", "total": f"{100 + n}.00"}
                ),
                now=now,
            )
            for n in range(invoices)
        ]
    with transaction(engine) as connection:
        showcase = _showcase(connection, alice, bob, carol, invoice_ids[:2], now)
        for _ in range(requests):
            _under_review(connection, alice, bob, carol, now)
        _paid_in_part(connection, alice, bob, carol, now, payments=60)
    dataset = Dataset(alice, bob, carol, showcase, invoice_ids)
    add_approvable(engine, dataset, approvable)
    return dataset


def add_approvable(engine: Engine, dataset: Dataset, count: int) -> None:
    """`count` submitted requests, each waiting for bob alone (anyof), for one approval each."""
    for start in range(0, count, 500):  # a few transactions, not one huge one
        with transaction(engine) as connection:
            for _ in range(start, min(count, start + 500)):
                dataset.approvable.append(
                    submitted(
                        connection, dataset.alice, [{"name": "Manager", "mode": "anyof", "approvers": [dataset.bob.id]}]
                    )
                )


def submitted(connection: Connection, requester: Person, flow: list[dict[str, Any]], **fields: Any) -> uuid.UUID:
    from pr_api import flows
    from pr_api.models import NewPaymentRequest

    now = datetime.now(UTC)
    request = NewPaymentRequest.model_validate(
        {
            "title": "Laptops for the new team",
            "payee": "ACME GmbH",
            "amount": "1250.00",
            "currency": "EUR",
            "approvalFlow": [{**step, "approvers": [str(a) for a in step["approvers"]]} for step in flow],
            **fields,
        }
    )
    # The bench lays out its data as an operator would: it writes the flows it needs inline.
    context = dataclasses.replace(requester.context(), permissions=frozenset({*requester.permissions, "flows.manage"}))
    pr_id = flows.create(connection, context, request, now=now)
    flows.submit(connection, context, pr_id, now=now)
    return pr_id


def approved_by(
    connection: Connection, approver: Person, pr_id: uuid.UUID, *, now: datetime, comment: str | None = None
) -> None:
    """`approver`'s approval of the request's current step, on the version they just read."""
    from pr_api import flows

    seen = flows.view(connection, pr_id).version
    flows.approve(connection, approver.context(), pr_id, read_version=seen, comment=comment, now=now)


def people(engine: Engine, count: int, permissions: tuple[str, ...] = APPROVER) -> list[Person]:
    """`count` new people with `permissions` (by default: those of an approver)."""
    people = [Person(uuid.uuid4(), permissions) for _ in range(count)]
    with transaction(engine) as connection:
        connection.execute(
            insert(users),
            [
                {"id": p.id, "email": f"person-{p.id.hex[:8]}@example.com", "display_name": "Bench Person"}
                for p in people
            ],
        )
        connection.execute(
            insert(user_permissions),
            [{"user_id": p.id, "permission": permission} for p in people for permission in p.permissions],
        )
    return people


def _under_review(connection: Connection, alice: Person, bob: Person, carol: Person, now: datetime) -> uuid.UUID:
    """A request as a list shows most of them: submitted, its first step half decided."""
    pr_id = submitted(connection, alice, _two_steps(bob, carol))
    approved_by(connection, bob, pr_id, now=now)
    return pr_id


def _paid_in_part(
    connection: Connection, alice: Person, bob: Person, carol: Person, now: datetime, *, payments: int
) -> uuid.UUID:
    """An approved request that carol has paid in `payments` instalments (a page of payments)."""
    from payment_api import flows as payment_flows
    from payment_api.models import NewPayment

    pr_id = submitted(connection, alice, [{"name": "Manager", "mode": "anyof", "approvers": [bob.id]}])
    approved_by(connection, bob, pr_id, now=now)
    for _ in range(payments):
        instalment = NewPayment.model_validate({"amount": "10.00", "currency": "EUR"})
        payment_flows.record_payment(connection, carol.context(), pr_id, instalment, now=now)
    return pr_id


def _two_steps(bob: Person, carol: Person) -> list[dict[str, Any]]:
    return [
        {"name": "Managers", "mode": "allof", "approvers": [bob.id, carol.id]},
        {"name": "Finance", "mode": "anyof", "approvers": [carol.id]},
    ]


def _showcase(
    connection: Connection, alice: Person, bob: Person, carol: Person, invoice_ids: list[uuid.UUID], now: datetime
) -> uuid.UUID:
    from pr_api import flows

    pr_id = submitted(connection, alice, _two_steps(bob, carol), description="Two laptops and docks for the new hires.")
    for invoice_id in invoice_ids:  # linked before the approval: the invoices are part of what is approved
        flows.link_invoice(connection, alice.context(), pr_id, invoice_id, now=now)
    approved_by(connection, bob, pr_id, now=now, comment="Fine by me.")
    return pr_id
