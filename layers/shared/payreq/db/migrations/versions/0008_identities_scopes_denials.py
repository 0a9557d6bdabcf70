"""Identity and sessions: external identities by (issuer, subject), sync tickets and connections
that carry their credential's scopes (and the credential, so revoking it drops them), denial windows.

`users.google_sub` moves to `external_identities` under Google's issuer, so Google is looked up
the way every other issuer is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

GOOGLE_ISSUER = "https://accounts.google.com"


def upgrade() -> None:
    op.create_table(
        "external_identities",
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("linked_email", sa.Text(), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_external_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_external_identities")),
    )
    op.create_index(op.f("ix_external_identities_user_id"), "external_identities", ["user_id"])
    op.execute(
        sa.text(
            "INSERT INTO external_identities (issuer, subject, user_id, created_at, last_seen_at) "
            "SELECT :issuer, google_sub, id, created_at, updated_at FROM users WHERE google_sub IS NOT NULL"
        ).bindparams(issuer=GOOGLE_ISSUER)
    )
    op.drop_constraint("uq_users_google_sub", "users", type_="unique")
    op.drop_column("users", "google_sub")

    # Existing rows get no scopes: a ticket lives 30 s and a socket reconnects, so failing closed costs
    # a resubscribe, never a leak.
    for table in ("ws_tickets", "ws_connections"):
        op.add_column(
            table,
            sa.Column("scopes", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        )
        op.add_column(table, sa.Column("credential", sa.Text(), nullable=True))
    op.create_index(op.f("ix_ws_connections_credential"), "ws_connections", ["credential"])

    op.create_table(
        "denial_windows",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("window_start", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_request_id", sa.Text(), nullable=True),
        sa.Column("last_seen_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("summarised_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", "action", "kind", "route", "window_start", name=op.f("pk_denial_windows")),
    )
    op.create_index(
        "ix_denial_windows_unsummarised",
        "denial_windows",
        ["window_start"],
        postgresql_where=sa.text("summarised_at IS NULL AND count > 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_denial_windows_unsummarised", table_name="denial_windows")
    op.drop_table("denial_windows")
    op.drop_index(op.f("ix_ws_connections_credential"), table_name="ws_connections")
    for table in ("ws_tickets", "ws_connections"):
        op.drop_column(table, "credential")
        op.drop_column(table, "scopes")
    op.add_column("users", sa.Column("google_sub", sa.Text(), nullable=True))
    op.create_unique_constraint("uq_users_google_sub", "users", ["google_sub"])
    op.execute(
        sa.text(
            "UPDATE users SET google_sub = identities.subject FROM external_identities AS identities "
            "WHERE identities.user_id = users.id AND identities.issuer = :issuer"
        ).bindparams(issuer=GOOGLE_ISSUER)
    )
    op.drop_index(op.f("ix_external_identities_user_id"), table_name="external_identities")
    op.drop_table("external_identities")
