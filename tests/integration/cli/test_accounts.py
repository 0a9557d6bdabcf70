"""`payreq users ...` and `payreq tokens ...`: an operator's changes, made through the auth flows
and audited with the CLI as the acting party."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from payreq.db.schema import audit_events
from payreq_cli import main as payreq
from support.api_client import ApiClient

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("payreq: error:") and "\n" not in error, error
    return error


def test_an_operator_creates_a_user_who_can_then_be_granted_and_revoked_permissions(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a user created from the command line, before their first sign-in
    assert payreq(["users", "create", "dora@example.com", "Dora Ops", "pr.read"]) == 0
    assert "created user dora@example.com" in capsys.readouterr().out

    # When the operator grants two permissions and revokes one
    assert payreq(["users", "grant", "dora@example.com", "audit.read", "users.admin"]) == 0
    assert payreq(["users", "revoke", "DORA@example.com", "users.admin"]) == 0

    # Then the user holds what is left, and each change is in the audit log, made by the CLI
    assert capsys.readouterr().out.splitlines()[-1] == "dora@example.com now holds: audit.read pr.read"
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.actor_id, audit_events.c.user_agent).order_by(
                audit_events.c.seq
            )
        ).all()
    assert [row.action for row in rows] == ["user.created", "user.updated", "user.updated"]
    assert all(row.actor_id is None for row in rows)
    assert [row.user_agent.split(";")[0] for row in rows] == [
        "payreq-cli (users create",
        "payreq-cli (users grant",
        "payreq-cli (users revoke",
    ]


def test_a_second_user_with_the_same_email_is_refused_in_one_line(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert payreq(["users", "create", "dora@example.com", "Dora"]) == 0

    assert payreq(["users", "create", "Dora@Example.com", "Dora again"]) == 1
    assert "already exists" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["users", "grant", "nobody@example.com", "pr.read"], "No user with the e-mail nobody@example.com"),
        (["users", "grant", "dora@example.com", "Not A Permission"], "permissions.0"),
        (["users", "create", "not-an-email", "X"], "email"),
    ],
)
def test_bad_user_input_fails_in_one_line(
    engine: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert payreq(["users", "create", "dora@example.com", "Dora", "pr.read"]) == 0
    capsys.readouterr()

    assert payreq(argv) == 1
    assert complaint in one_error_line(capsys)


def test_an_issued_token_is_printed_once_works_and_stops_working_when_revoked(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a user, and a token issued for them by an operator
    assert payreq(["users", "create", "rob@example.com", "Report Bot", "pr.read", "audit.read"]) == 0
    capsys.readouterr()
    assert payreq(["tokens", "issue", "rob@example.com", "--name", "nightly report", "--scope", "pr.read"]) == 0
    issued = capsys.readouterr()
    secret = issued.out.strip()  # stdout is the secret alone, for TOKEN=$(payreq tokens issue ...)
    token_id = issued.err.split()[2]

    # Then it authenticates as that user, within its scope only
    bot = ApiClient(headers={"Authorization": f"Bearer {secret}"})
    assert bot.get("/api/v1/prs").status == 200
    assert bot.get("/api/v1/audit-events").status == 403

    # When the operator revokes it, it no longer does
    assert payreq(["tokens", "revoke", token_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert bot.get("/api/v1/prs").status == 401

    # And the audit log has both, by the CLI, naming the token's owner on issue
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.actor_id, audit_events.c.after)
            .where(audit_events.c.action.in_(("token_issued", "token_revoked")))
            .order_by(audit_events.c.seq)
        ).all()
    assert [(row.action, row.actor_id) for row in rows] == [("token_issued", None), ("token_revoked", None)]
    assert rows[0].after["scopes"] == ["pr.read"] and "userId" in rows[0].after


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["tokens", "issue", "rob@example.com", "--name", "x", "--scope", "payment.write"], "owner holds"),
        (["tokens", "issue", "ghost@example.com", "--name", "x", "--scope", "pr.read"], "No user"),
        (["tokens", "issue", "rob@example.com", "--name", "x", "--scope", "pr.read", "--days", "999"], "days"),
        (["tokens", "revoke", "not-a-uuid"], "not a token id"),
        (["tokens", "revoke", "5b0d7c2e-8f1a-4c3b-9d6e-2a4f8e1c7b90"], "No API token with this id"),
    ],
)
def test_bad_token_input_fails_in_one_line(
    engine: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert payreq(["users", "create", "rob@example.com", "Report Bot", "pr.read"]) == 0
    capsys.readouterr()

    assert payreq(argv) == 1
    assert complaint in one_error_line(capsys)
