"""Approval flows: reusable templates, each PR's own flow definition, and approval rounds.

A PR's flow is frozen into approval_steps at submit; a material edit freezes it again as a new
round, so the steps and approvals of earlier rounds stay readable.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "approval_flow_templates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_approval_flow_templates_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_flow_templates")),
    )
    op.create_index(
        "uq_approval_flow_templates_name_lower",
        "approval_flow_templates",
        [sa.literal_column("lower(name)")],
        unique=True,
    )
    # No PR could be submitted before this revision, so approval_steps is empty: no default needed.
    op.add_column("approval_steps", sa.Column("round", sa.Integer(), nullable=False))
    op.drop_constraint(op.f("uq_approval_steps_payment_request_id_position"), "approval_steps", type_="unique")
    op.create_unique_constraint(
        op.f("uq_approval_steps_payment_request_id_round_position"),
        "approval_steps",
        ["payment_request_id", "round", "position"],
    )
    op.add_column(
        "payment_requests",
        sa.Column(
            "approval_flow",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("payment_requests", sa.Column("approval_flow_template_id", sa.UUID(), nullable=True))
    op.add_column(
        "payment_requests", sa.Column("approval_round", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.create_foreign_key(
        op.f("fk_payment_requests_approval_flow_template_id_approval_flow_templates"),
        "payment_requests",
        "approval_flow_templates",
        ["approval_flow_template_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_payment_requests_approval_flow_template_id_approval_flow_templates"),
        "payment_requests",
        type_="foreignkey",
    )
    op.drop_column("payment_requests", "approval_round")
    op.drop_column("payment_requests", "approval_flow_template_id")
    op.drop_column("payment_requests", "approval_flow")
    op.drop_constraint(op.f("uq_approval_steps_payment_request_id_round_position"), "approval_steps", type_="unique")
    op.create_unique_constraint(
        op.f("uq_approval_steps_payment_request_id_position"),
        "approval_steps",
        ["payment_request_id", "position"],
        postgresql_nulls_not_distinct=False,
    )
    op.drop_column("approval_steps", "round")
    op.drop_index("uq_approval_flow_templates_name_lower", table_name="approval_flow_templates")
    op.drop_table("approval_flow_templates")
