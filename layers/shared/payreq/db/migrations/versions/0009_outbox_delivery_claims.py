"""Outbox delivery claims: the broadcaster claims rows and commits before it posts, and retries the
rows whose posts failed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Both nullable or defaulted: the broadcaster still running the previous code ignores them.
    op.add_column("outbox", sa.Column("claimed_until", postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    op.drop_column("outbox", "attempts")
    op.drop_column("outbox", "claimed_until")
