"""Audit hash chain: every event gets a gapless `seq` and `hash = SHA-256(previous hash || event)`;
the application's role may only read and append audit events.

Events already in the log are chained in `id` order (the append-only trigger is paused for that, in
this transaction). When the application's role exists (`-x app_role=NAME`, else `DB_APP_ROLE`, else
`payreq_app`), it is left with SELECT and INSERT on audit_events and nothing else; see docs/deploy.md,
"Database roles". Run this as the role that owns the tables, never as the application's role.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from payreq.audit_chain import GENESIS, link_hash

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

DEFAULT_APP_ROLE = "payreq_app"
log = logging.getLogger("alembic.runtime.migration")


def app_role() -> str:
    named = context.get_x_argument(as_dictionary=True).get("app_role")
    return named or os.environ.get("DB_APP_ROLE") or DEFAULT_APP_ROLE


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.LargeBinary(length=32), nullable=True))
    _chain_existing_events()
    op.alter_column("audit_events", "seq", nullable=False)
    op.alter_column("audit_events", "hash", nullable=False)
    op.create_unique_constraint(op.f("uq_audit_events_seq"), "audit_events", ["seq"])
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"], unique=False)
    op.create_index("ix_audit_events_category_seq", "audit_events", ["category", "seq"], unique=False)
    _restrict_app_role(app_role())


def downgrade() -> None:
    # The role's privileges are left as they are: SELECT and INSERT are all it ever needed here.
    op.drop_index("ix_audit_events_category_seq", table_name="audit_events")
    op.drop_index("ix_audit_events_request_id", table_name="audit_events")
    op.drop_constraint(op.f("uq_audit_events_seq"), "audit_events", type_="unique")
    op.drop_column("audit_events", "hash")
    op.drop_column("audit_events", "seq")


def _chain_existing_events() -> None:
    connection = op.get_bind()
    events = sa.table(
        "audit_events",
        *(sa.column(name) for name in ("id", "event_id", "occurred_at", "category", "action", "actor_id")),
        *(sa.column(name) for name in ("entity_type", "entity_id", "request_id", "source_ip", "user_agent")),
        sa.column("before", postgresql.JSONB),
        sa.column("after", postgresql.JSONB),
        sa.column("seq", sa.BigInteger),
        sa.column("hash", sa.LargeBinary),
    )
    rows = connection.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    if not rows:
        return
    previous, links = GENESIS, []
    for seq, row in enumerate(rows, start=1):
        previous = link_hash(previous, row)
        links.append({"row_id": row["id"], "seq": seq, "hash": previous})
    # Owners may pause their own triggers; this transaction is the only writer while it holds the
    # table (ADD COLUMN above took an exclusive lock).
    op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    connection.execute(
        sa.update(events)
        .where(events.c.id == sa.bindparam("row_id"))
        .values(seq=sa.bindparam("seq"), hash=sa.bindparam("hash")),
        links,
    )
    op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


def _restrict_app_role(role: str) -> None:
    connection = op.get_bind()
    owner = connection.execute(
        sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit_events'")
    ).scalar_one()
    if owner == role:
        # It could drop the triggers and rewrite history; privileges cannot take that away from an owner.
        log.warning("%s owns audit_events: the application's role must not (see docs/deploy.md, Database roles)", role)
        return
    if connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first() is None:
        log.info("role %s does not exist: audit_events privileges left as they are", role)
        return
    quoted = connection.dialect.identifier_preparer.quote(role)
    # REVOKE ALL first: whatever default privileges granted it (UPDATE, DELETE, TRUNCATE, TRIGGER,
    # REFERENCES), the application keeps only what appending and reading need.
    op.execute(f"REVOKE ALL ON audit_events FROM {quoted}")
    op.execute(f"GRANT SELECT, INSERT ON audit_events TO {quoted}")
