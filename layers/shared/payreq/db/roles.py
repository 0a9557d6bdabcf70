"""The database roles the functions connect as, created by code on the first deploy and kept right.

Run by the migration function before it migrates, connected as the schema's owner (the database's
master user in `infra/network-db.yaml`, which may create roles). Idempotent: every deploy runs it,
and each run leaves the same state, whatever a previous run or a person left behind:

- `payreq_app` (the functions): DML on every table, only `SELECT, INSERT` on `audit_events`, so a
  compromised function cannot rewrite history even with the append-only triggers gone;
- `payreq_read` (reports, BI, support): `SELECT` on every table;
- each role's password is the one in its Secrets Manager secret (the one RDS Proxy signs in with,
  and the one rotation changes), and no role holds `rds_iam` (the proxy signs in with passwords);
- a password never travels in a statement's text: the server gets its SCRAM-SHA-256 verifier,
  computed here as `psql`'s `\\password` does, so statement logging (`log_statement = 'ddl'`,
  pgaudit) and `pg_stat_statements` never hold a secret;
- time limits live on the roles, never in a `SET` on connect (that would pin proxy connections).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scramp import ScramMechanism
from sqlalchemy import text

from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.engine import Connection

# Per-role settings (`ALTER ROLE ... SET`): the application's statements are short, and a lock or an
# open transaction must never hold up others for long. The owner's limits bound a migration: it may
# run for minutes, but must not queue for a lock behind (and in front of) live traffic.
APP_TIMEOUTS = {"statement_timeout": "10s", "lock_timeout": "5s", "idle_in_transaction_session_timeout": "30s"}
READ_TIMEOUTS = {"statement_timeout": "60s", "idle_in_transaction_session_timeout": "60s"}
OWNER_TIMEOUTS = {"statement_timeout": "4min", "lock_timeout": "10s"}
_TIME_LIMIT = re.compile(r"^[0-9]+(ms|s|min)$")
# PostgreSQL's own choices when it hashes a password (scram_iterations, SCRAM_DEFAULT_SALT_LEN).
_SCRAM_ITERATIONS, _SCRAM_SALT_BYTES = 4096, 16


@dataclass(frozen=True)
class LoginRole:
    name: str
    password: str
    timeouts: Mapping[str, str]


@dataclass(frozen=True)
class Roles:
    """The login roles; the owner is whoever runs this (the migration function's `DbOwnerUser`)."""

    app: LoginRole
    read: LoginRole | None = None
    owner_timeouts: Mapping[str, str] = field(default_factory=lambda: OWNER_TIMEOUTS)


def ensure_roles(connection: Connection, roles: Roles) -> None:
    """Create or correct the roles, their passwords, grants and time limits (inside one transaction)."""
    quote = connection.dialect.identifier_preparer.quote
    owner_name = str(connection.scalar(text("SELECT current_user")))
    owner, app = quote(owner_name), quote(roles.app.name)
    for role in (roles.app, roles.read):
        if role is not None:
            _login_role(connection, role)
    connection.execute(text("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {app}"))
    # Tables the owner creates from now on (every migration) are open to the application...
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT"
    connection.execute(text(f"{defaults} SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}"))
    # ...and so are the ones that exist, except the audit log, which it may only read and append to.
    # In this order: a blanket grant after the narrowing would undo it.
    connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}"))
    if connection.scalar(text("SELECT to_regclass('public.audit_events') IS NOT NULL")):
        connection.execute(text(f"REVOKE ALL ON audit_events FROM {app}"))
        connection.execute(text(f"GRANT SELECT, INSERT ON audit_events TO {app}"))
    if roles.read is not None:
        read = quote(roles.read.name)
        connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {read}"))
        connection.execute(text(f"{defaults} SELECT ON TABLES TO {read}"))
        connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {read}"))
    _set_timeouts(connection, owner_name, roles.owner_timeouts)
    logger.info(
        "database roles in place",
        extra={"owner": owner_name, "app": roles.app.name, "read": roles.read.name if roles.read else None},
    )


def _login_role(connection: Connection, role: LoginRole) -> None:
    quoted = connection.dialect.identifier_preparer.quote(role.name)
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": role.name})
    verb = "ALTER" if exists else "CREATE"
    # Passwords cannot be bound parameters in DDL, so the text carries the verifier, not the password.
    # A verifier holds only base64 characters, '$' and ':', so it needs no quoting beyond the quotes;
    # its colons are escaped for `text()`, which would read `:name` as a bind parameter.
    verifier = scram_verifier(role.password).replace(":", "\\:")
    connection.execute(text(f"{verb} ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{verifier}'"))
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'")):
        # RDS Proxy signs in to the database with the password; a role holding rds_iam could not.
        connection.execute(text(f"REVOKE rds_iam FROM {quoted}"))
    _set_timeouts(connection, role.name, role.timeouts)


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """What PostgreSQL stores for `password` (`pg_authid.rolpassword`), in its own format; it takes
    such a string as the password and stores it as it is."""
    salt, stored_key, server_key, iterations = ScramMechanism("SCRAM-SHA-256").make_auth_info(
        password, iteration_count=_SCRAM_ITERATIONS, salt=salt or secrets.token_bytes(_SCRAM_SALT_BYTES)
    )

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _set_timeouts(connection: Connection, role: str, timeouts: Mapping[str, str]) -> None:
    quoted = connection.dialect.identifier_preparer.quote(role)
    for setting, value in timeouts.items():
        # Both end up in DDL text: only known settings and plain durations get there.
        if setting not in {*APP_TIMEOUTS, *READ_TIMEOUTS, *OWNER_TIMEOUTS} or not _TIME_LIMIT.match(value):
            raise ValueError(f"not a role time limit: {setting} = {value}")
        connection.execute(text(f"ALTER ROLE {quoted} SET {setting} = '{value}'"))
