"""`payreq seed-demo`, `payreq audit verify`, and what every command does with bad input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select, text

from payreq.db.schema import (
    approval_flow_templates,
    invoices,
    payment_methods,
    payment_requests,
    pr_invoice_links,
    users,
)
from payreq_cli import main as payreq

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def test_seed_demo_makes_users_and_data_once(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    # When the demo is seeded twice
    assert payreq(["seed-demo"]) == 0
    first = capsys.readouterr().out
    assert payreq(["seed-demo"]) == 0
    second = capsys.readouterr().out

    # Then the first run made the users and a request in each state, and the second changed nothing
    assert "made 1 approval flow, 4 payment requests (approved, draft, pending, rejected)" in first
    assert "demo data already present" in second
    with engine.connect() as connection:
        emails = connection.scalars(select(users.c.email).order_by(users.c.email)).all()
        states = connection.scalars(select(payment_requests.c.status).order_by(payment_requests.c.status)).all()
        counts = [
            connection.scalar(select(func.count()).select_from(table))
            for table in (approval_flow_templates, invoices, pr_invoice_links, payment_methods)
        ]
    assert emails == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert states == ["approved", "draft", "pending", "rejected"]
    assert counts == [1, 1, 1, 1]

    # And all of it went through the flows: audited, with an intact chain
    assert payreq(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("audit chain intact: ")


def test_seed_demo_gives_an_existing_demo_user_the_permissions_they_lack(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given bob exists already, with fewer permissions than the demo needs
    assert payreq(["users", "create", "bob@example.com", "Bob", "pr.read"]) == 0

    assert payreq(["seed-demo"]) == 0

    with engine.connect() as connection:
        held = connection.execute(text("SELECT id FROM users WHERE email = 'bob@example.com'")).scalar_one()
        permissions = connection.scalars(
            text("SELECT permission FROM user_permissions WHERE user_id = :id ORDER BY permission"), {"id": held}
        ).all()
    assert permissions == ["invoice.read", "pr.approve", "pr.read", "tokens.manage"]


def test_audit_verify_reports_an_empty_log(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert payreq(["audit", "verify"]) == 0
    assert capsys.readouterr().out.strip() == (
        "audit chain intact: no events yet; no anchor bucket given: the tail is unchecked"
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["users"],
        ["users", "grant", "dora@example.com"],
        ["tokens", "issue", "dora@example.com", "--name", "x"],
        ["tokens", "issue", "dora@example.com", "--name", "x", "--scope", "pr.read", "--days", "soon"],
        ["db", "sideways"],
    ],
)
def test_a_malformed_command_exits_2_with_one_line_and_a_pointer_to_help(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        payreq(argv)

    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "error:" in error and error.endswith("--help)")


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [
        ["db", "upgrade"], ["db", "downgrade"], ["db", "current"], ["seed-demo"], ["users", "create"],
        ["users", "grant"], ["users", "revoke"], ["tokens", "issue"], ["tokens", "revoke"], ["audit", "verify"],
        ["openapi", "export"], ["events", "generate"],
    ]  # fmt: skip
    for command in commands:
        with pytest.raises(SystemExit) as exit_:
            payreq([*command, "--help"])
        assert exit_.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: payreq {' '.join(command)}")
