"""Payment requests remember when their material terms last changed, and their fingerprint.

`material_version` is the version at which amount, currency, payee, flow or linked invoices last
changed: a decision made on an older version is refused (412), while decisions by other approvers
in between (which bump `version` only) do not make it stale. `material_hash` fingerprints those
terms; each decision stores the one it was made on.

Existing requests count as materially changed at their current version (a decision must be based on
what they are now), and their fingerprint is computed here as the flows compute it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("payment_requests", sa.Column("material_version", sa.Integer(), nullable=True))
    op.add_column("payment_requests", sa.Column("material_hash", sa.LargeBinary(length=32), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT pr.id, pr.amount, pr.currency, pr.payee, pr.approval_flow,"
            " coalesce(json_agg(json_build_array(i.id::text, i.total::text)) FILTER (WHERE i.id IS NOT NULL), '[]')"
            " AS invoices"
            " FROM payment_requests pr"
            " LEFT JOIN pr_invoice_links l ON l.payment_request_id = pr.id"
            " LEFT JOIN invoices i ON i.id = l.invoice_id"
            " GROUP BY pr.id"
        )
    ).mappings()
    for row in rows:
        connection.execute(
            sa.text("UPDATE payment_requests SET material_hash = :hash, material_version = version WHERE id = :id"),
            {"id": row["id"], "hash": _fingerprint(row)},
        )
    # Defaults only for code that does not know these columns (a rollback to the release before this
    # one must still be able to create requests); this code always sets both.
    op.alter_column("payment_requests", "material_version", nullable=False, server_default=sa.text("1"))
    op.alter_column("payment_requests", "material_hash", nullable=False, server_default=sa.text("'\\x'::bytea"))


def downgrade() -> None:
    op.drop_column("payment_requests", "material_hash")
    op.drop_column("payment_requests", "material_version")


def _fingerprint(row: sa.RowMapping) -> bytes:
    """`pr_api.rules.material_hash` as it stood when this revision was written (a migration must not
    change with the code that follows it)."""
    invoices = sorted(
        [invoice_id, None if total is None else str(Decimal(total).normalize())]
        for invoice_id, total in row["invoices"]
    )
    canonical = json.dumps(
        {
            "amount": str(row["amount"].normalize()),
            "currency": row["currency"],
            "payee": row["payee"],
            "flow": row["approval_flow"],
            "invoices": invoices,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).digest()
