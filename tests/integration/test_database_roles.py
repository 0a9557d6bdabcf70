"""The first deploy creates the database roles by code, and every deploy after it keeps them right."""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import event, text
from sqlalchemy.exc import ProgrammingError

from payreq.custom_resource import Request
from payreq.db import migration_function, roles, transaction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection, Engine

    from support.lambda_context import FakeLambdaContext


@pytest.fixture
def role_names(engine: Engine) -> Iterator[tuple[str, str]]:
    """Role names of this test alone (roles belong to the whole server, not to one database)."""
    suffix = uuid.uuid4().hex[:8]
    app, read = f"payreq_app_{suffix}", f"payreq_read_{suffix}"
    yield app, read
    with engine.begin() as connection:
        for role in (app, read):
            if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
                connection.execute(text(f"DROP OWNED BY {role}"))
                connection.execute(text(f"DROP ROLE {role}"))


def privileges(connection: Connection, role: str, table: str) -> set[str]:
    rows = connection.execute(
        text("SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = :r AND table_name = :t"),
        {"r": role, "t": table},
    )
    return {row.privilege_type for row in rows}


def role_config(connection: Connection, role: str) -> set[str]:
    return set(connection.scalar(text("SELECT rolconfig FROM pg_roles WHERE rolname = :r"), {"r": role}) or ())


def password_hash(connection: Connection, role: str) -> str:
    return str(connection.scalar(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}))


def test_the_roles_are_created_with_their_grants_and_time_limits_and_a_rerun_changes_only_the_password(
    engine: Engine, role_names: tuple[str, str]
) -> None:
    app, read = role_names
    setup = roles.Roles(
        app=roles.LoginRole(app, "first-password", roles.APP_TIMEOUTS),
        read=roles.LoginRole(read, "read-password", roles.READ_TIMEOUTS),
    )

    # When the first deploy puts the roles in place on a migrated database
    with transaction(engine) as connection:
        roles.ensure_roles(connection, setup)
    with engine.connect() as connection:
        first_hash = password_hash(connection, app)

    # And a later deploy runs again after the app role's password was rotated
    rotated = roles.Roles(app=roles.LoginRole(app, "rotated-password", roles.APP_TIMEOUTS), read=setup.read)
    with transaction(engine) as connection:
        roles.ensure_roles(connection, rotated)

    # Then the application may change ordinary tables but only read and append to the audit log
    with engine.connect() as connection:
        assert privileges(connection, app, "payment_requests") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        assert privileges(connection, app, "audit_events") == {"SELECT", "INSERT"}
        # And the read role may only read
        assert privileges(connection, read, "payment_requests") == {"SELECT"}
        assert privileges(connection, read, "audit_events") == {"SELECT"}
        # And each role carries its own time limits (no SET on connect, which would pin the proxy)
        assert role_config(connection, app) == {
            "statement_timeout=10s",
            "lock_timeout=5s",
            "idle_in_transaction_session_timeout=30s",
        }
        assert role_config(connection, read) == {"statement_timeout=60s", "idle_in_transaction_session_timeout=60s"}
        # And the second run set the rotated password, nothing else changed
        assert password_hash(connection, app) != first_hash
        # And neither may log in as anything more than itself
        flags = connection.execute(
            text("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :r"),
            {"r": app},
        ).one()
        assert tuple(flags) == (True, False, False, False)


def test_the_app_role_cannot_rewrite_the_audit_log(engine: Engine, role_names: tuple[str, str]) -> None:
    app, _ = role_names
    with transaction(engine) as connection:
        roles.ensure_roles(connection, roles.Roles(app=roles.LoginRole(app, "pw", roles.APP_TIMEOUTS)))

    # When the application's role tries to delete from the audit log
    # Then the database refuses it
    with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as connection:
        connection.execute(text(f"SET LOCAL ROLE {app}"))
        connection.execute(text("DELETE FROM audit_events"))


def test_the_first_deploy_creates_the_roles_from_their_secrets(
    engine: Engine,
    role_names: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    app, read = role_names
    with mock_aws():
        # Given the infra stack's secrets for the two roles
        secrets = boto3.client("secretsmanager")
        arns = {
            role: secrets.create_secret(
                Name=f"payreq-test/{role}", SecretString=json.dumps({"username": role, "password": f"{role}-pw"})
            )["ARN"]
            for role in (app, read)
        }
        monkeypatch.setenv("DB_APP_ROLE", app)
        monkeypatch.setenv("DB_APP_ROLE_SECRET_ARN", arns[app])
        monkeypatch.setenv("DB_READ_ROLE", read)
        monkeypatch.setenv("DB_READ_ROLE_SECRET_ARN", arns[read])

        # When the first deploy's Create reaches the migration function
        answer = migration_function.on_request(
            Request("Create", "https://unused.example", "stack", "request", "DatabaseMigration", None)
        )

    # Then the migration succeeded, with both roles in place
    assert answer.status == "SUCCESS", answer.reason
    with engine.connect() as connection:
        assert privileges(connection, app, "audit_events") == {"SELECT", "INSERT"}
        assert privileges(connection, read, "invoices") == {"SELECT"}


def test_a_role_password_never_reaches_the_server_as_text_only_its_verifier(
    engine: Engine, role_names: tuple[str, str]
) -> None:
    app, _ = role_names
    password = "s3cret-'quoted'-$tail:"
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        statements.append(f"{statement} {parameters!r}")

    # When the deploy puts the role in place, with every statement it sends captured
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with transaction(engine) as connection:
            roles.ensure_roles(connection, roles.Roles(app=roles.LoginRole(app, password, roles.APP_TIMEOUTS)))
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    # Then the password is in no statement and no parameter (statement logs and pg_stat_statements see none)
    assert statements
    assert not [statement for statement in statements if "s3cret" in statement]
    # And the role holds a SCRAM verifier of exactly that password, as PostgreSQL itself computes it
    with engine.begin() as connection:
        stored = password_hash(connection, app)
        connection.execute(text("SET LOCAL password_encryption = 'scram-sha-256'"))
        connection.execute(text(f"ALTER ROLE {app} PASSWORD {_literal(connection, password)}"))
        by_postgres = password_hash(connection, app)
    salt = base64.b64decode(by_postgres.split("$")[1].split(":")[1])
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert roles.scram_verifier(password, salt=salt) == by_postgres


def _literal(connection: Connection, value: str) -> str:
    return str(connection.scalar(text("SELECT quote_literal(:value)"), {"value": value}))
