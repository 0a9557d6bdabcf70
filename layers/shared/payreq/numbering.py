"""Human numbers for documents: PR-2026-000123, gapless within a year."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.dialects.postgresql import insert

from payreq.db.schema import document_counters

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection


def next_number(connection: Connection, prefix: str, *, now: datetime) -> str:
    """The next number for `prefix` this year. The counter row stays locked until the transaction
    ends, so a rolled-back create never burns a number (and creates of one kind serialise here)."""
    upsert = insert(document_counters).values(kind=prefix, year=now.year, last_value=1)
    value = connection.scalar(
        upsert.on_conflict_do_update(
            index_elements=[document_counters.c.kind, document_counters.c.year],
            set_={"last_value": document_counters.c.last_value + 1},
        ).returning(document_counters.c.last_value)
    )
    return f"{prefix}-{now.year}-{value:06d}"
