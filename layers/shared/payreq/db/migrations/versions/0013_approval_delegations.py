"""Approval delegations: an approver hands their approval rights to another user for a date range
(optionally only some flows, or amounts up to a limit). A decision made through one records the
delegator in `approvals.on_behalf_of`, and a step's live decisions are unique per effective approver
(the delegator when there is one), so one step is never decided twice through the two people.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "approval_delegations",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("delegator_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("delegate_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("starts_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("ends_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("flow_template_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True)), nullable=True),
        sa.Column("amount_limit", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("limit_currency", sa.String(length=3), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("revoked_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("revoked_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint("delegator_id <> delegate_id", name=op.f("ck_approval_delegations_not_to_oneself")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_approval_delegations_ends_after_start")),
        sa.CheckConstraint(
            "(amount_limit IS NULL) = (limit_currency IS NULL)", name=op.f("ck_approval_delegations_limit_has_currency")
        ),
        sa.ForeignKeyConstraint(
            ["delegator_id"], ["users.id"], name=op.f("fk_approval_delegations_delegator_id_users")
        ),
        sa.ForeignKeyConstraint(["delegate_id"], ["users.id"], name=op.f("fk_approval_delegations_delegate_id_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_approval_delegations_created_by_users")),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"], name=op.f("fk_approval_delegations_revoked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_delegations")),
    )
    op.create_index(
        "ix_approval_delegations_active_of_delegate",
        "approval_delegations",
        ["delegate_id", "ends_at"],
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_index("ix_approval_delegations_delegator_id", "approval_delegations", ["delegator_id"])
    op.add_column("approvals", sa.Column("on_behalf_of", postgresql.UUID(as_uuid=True), nullable=True))
    op.create_foreign_key(op.f("fk_approvals_on_behalf_of_users"), "approvals", "users", ["on_behalf_of"], ["id"])
    op.create_index(
        "uq_approvals_live_effective_decision",
        "approvals",
        ["step_id", sa.text("coalesce(on_behalf_of, approver_id)")],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL"),
    )
    op.drop_index("uq_approvals_live_decision", table_name="approvals", postgresql_where=sa.text("voided_at IS NULL"))


def downgrade() -> None:
    op.create_index(
        "uq_approvals_live_decision",
        "approvals",
        ["step_id", "approver_id"],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL"),
    )
    op.drop_index(
        "uq_approvals_live_effective_decision", table_name="approvals", postgresql_where=sa.text("voided_at IS NULL")
    )
    op.drop_constraint(op.f("fk_approvals_on_behalf_of_users"), "approvals", type_="foreignkey")
    op.drop_column("approvals", "on_behalf_of")
    op.drop_index("ix_approval_delegations_delegator_id", table_name="approval_delegations")
    op.drop_index("ix_approval_delegations_active_of_delegate", table_name="approval_delegations")
    op.drop_table("approval_delegations")
