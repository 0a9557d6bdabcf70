"""The application's role may read and append audit events, and nothing else: even with the trigger
gone, it could not rewrite history. The migration sets that up for the role it is told about."""

from __future__ import annotations

import argparse
import uuid
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from payreq.audit import record_security_event
from payreq.audit_chain import verify_chain
from payreq.context import RequestContext
from payreq.db import migrate, transaction
from payreq.db.schema import audit_events

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection, Engine

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def migrate_with_app_role(engine: Engine, role: str, revision: str) -> None:
    """`alembic -x app_role=<role> upgrade/downgrade <revision>`, on this database."""
    with engine.begin() as connection:
        config = migrate.alembic_config(connection)
        config.cmd_opts = argparse.Namespace(x=[f"app_role={role}"])
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


@pytest.fixture
def app_role(engine: Engine) -> Iterator[str]:
    """A role like the deployed application's: not the owner, not a superuser, may log in."""
    role = f"payreq_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER"))
        # As the deploy guide sets it up: the ordinary tables get full DML (identity columns need no
        # grant on their sequences)...
        connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
    # ...and the migration narrows audit_events to what the application needs
    migrate_with_app_role(engine, role, "0002")
    migrate_with_app_role(engine, role, "head")
    yield role
    with engine.begin() as connection:
        connection.execute(text(f"DROP OWNED BY {role}"))
        connection.execute(text(f"DROP ROLE {role}"))


def as_role(connection: Connection, role: str) -> None:
    connection.execute(text(f"SET LOCAL ROLE {role}"))


def granted(engine: Engine, role: str) -> set[str]:
    with engine.connect() as connection:
        return {
            privilege
            for privilege in PRIVILEGES
            if connection.scalar(
                text("SELECT has_table_privilege(:role, 'audit_events', :privilege)"),
                {"role": role, "privilege": privilege},
            )
        }


def test_the_migration_leaves_the_application_role_select_and_insert_only(engine: Engine, app_role: str) -> None:
    assert granted(engine, app_role) == {"SELECT", "INSERT"}


def test_the_application_role_appends_and_reads_through_the_writer(engine: Engine, app_role: str) -> None:
    with transaction(engine) as connection:
        as_role(connection, app_role)
        record_security_event(connection, RequestContext(request_id="req-app"), "login_failed", {"email": "a@b.c"})
        assert connection.scalar(select(audit_events.c.action)) == "login_failed"
    with engine.connect() as connection:
        assert verify_chain(connection).intact


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'login_succeeded'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        # The owner's way around the trigger is not the application's either
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    ],
    ids=["update", "delete", "truncate", "disable-trigger"],
)
def test_the_application_role_cannot_rewrite_history(engine: Engine, app_role: str, statement: str) -> None:
    # Given one event
    with transaction(engine) as connection:
        record_security_event(connection, RequestContext(request_id="req-1"), "logout")

    # When the application's role tries to change or remove it
    with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"), transaction(engine) as connection:
        as_role(connection, app_role)
        connection.execute(text(statement))

    # Then it is still there, and the chain verifies
    with engine.connect() as connection:
        assert connection.scalars(select(audit_events.c.action)).all() == ["logout"]
        assert verify_chain(connection).intact


@pytest.fixture
def bystander(engine: Engine) -> Iterator[str]:
    """A role that is not the application's, with every privilege on the tables."""
    role = f"payreq_other_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER"))
    yield role
    with engine.begin() as connection:
        connection.execute(text(f"DROP OWNED BY {role}"))
        connection.execute(text(f"DROP ROLE {role}"))


def test_a_role_that_does_not_exist_is_skipped(engine: Engine, bystander: str) -> None:
    # Given a database before the chain, where another role may do anything to audit_events
    migrate_with_app_role(engine, "payreq_app_nobody", "0002")
    with engine.begin() as connection:
        connection.execute(text(f"GRANT ALL ON audit_events TO {bystander}"))

    # When the chain's migration is told of an application role that does not exist
    migrate_with_app_role(engine, "payreq_app_nobody", "head")

    # Then the migration completes, creates no such role, and changes no one's privileges
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = 'payreq_app_nobody'")) == 0
    assert granted(engine, bystander) == set(PRIVILEGES)


def test_events_logged_before_the_chain_existed_are_chained_by_the_migration(engine: Engine) -> None:
    # Given a database at 0002 holding events written without hashes
    migrate_with_app_role(engine, "payreq_app_nobody", "0002")
    legacy = audit_events.c
    with engine.begin() as connection:
        for n in range(5):
            connection.execute(
                text(
                    "INSERT INTO audit_events (event_id, category, action, entity_type, entity_id, after, request_id)"
                    " VALUES (:event_id, 'change', 'thing.updated', 'thing', :n, CAST(:after AS jsonb), 'req-old')"
                ),
                {"event_id": uuid.uuid4(), "n": str(n), "after": f'{{"n": {n}, "big": 1e20, "tiny": 1.50e-7}}'},
            )

    # When the chain is introduced
    migrate_with_app_role(engine, "payreq_app_nobody", "head")

    # Then they are numbered in the order they were written and the chain verifies
    with engine.connect() as connection:
        rows = connection.execute(select(legacy.seq, legacy.entity_id).order_by(legacy.id)).all()
        report = verify_chain(connection)
    assert [(row.seq, row.entity_id) for row in rows] == [(n + 1, str(n)) for n in range(5)]
    assert report.intact and report.checked == 5
