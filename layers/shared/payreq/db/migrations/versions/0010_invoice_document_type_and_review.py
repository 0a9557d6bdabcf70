"""Invoices: the document type (an invoice or a credit note, whose amounts are negative) and the
reasons the parser gives for a person to review what it read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "invoices", sa.Column("document_type", sa.String(length=16), server_default="invoice", nullable=False)
    )
    op.add_column(
        "invoices",
        sa.Column("review_reasons", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_invoices_document_type_known"), "invoices", "document_type IN ('invoice', 'credit_note')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_invoices_document_type_known"), "invoices", type_="check")
    op.drop_column("invoices", "review_reasons")
    op.drop_column("invoices", "document_type")
