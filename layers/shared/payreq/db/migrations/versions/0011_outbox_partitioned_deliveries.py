"""Partitioned live sync: WebSocket connections hashed into buckets (a partition is `bucket %
partitions`), and one delivery per outbox row and partition, each claimed and settled on its own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Defaulted: connections opened by the previous code (during a deploy) land in partition 0.
    op.add_column("ws_connections", sa.Column("bucket", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    # Open connections spread over the buckets as new ones are (any stable hash will do for them).
    op.execute("UPDATE ws_connections SET bucket = hashtext(connection_id) & 4095")
    op.create_table(
        "outbox_deliveries",
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("partition", sa.SmallInteger(), nullable=False),
        sa.Column("claimed_until", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("delivered_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_deliveries_outbox_id_outbox"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("outbox_id", "partition", name=op.f("pk_outbox_deliveries")),
    )
    op.create_index(
        "ix_outbox_deliveries_due",
        "outbox_deliveries",
        ["partition", "outbox_id"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_deliveries_due", table_name="outbox_deliveries", postgresql_where=sa.text("delivered_at IS NULL")
    )
    op.drop_table("outbox_deliveries")
    op.drop_column("ws_connections", "bucket")
