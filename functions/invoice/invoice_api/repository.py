"""The SQL of invoices: rows, their lines and attachments, duplicates, and filtered pages."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, insert, or_, select, tuple_, update

from payreq.db.schema import invoice_attachments, invoice_lines, invoices, payment_requests, pr_invoice_links

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection, RowMapping
    from sqlalchemy.sql import ColumnElement

INV = invoices


def _with_link() -> Any:
    return select(INV, pr_invoice_links.c.payment_request_id).select_from(
        INV.outerjoin(pr_invoice_links, pr_invoice_links.c.invoice_id == INV.c.id)
    )


def get(connection: Connection, invoice_id: uuid.UUID) -> RowMapping | None:
    return connection.execute(_with_link().where(INV.c.id == invoice_id)).mappings().one_or_none()


def status_of(connection: Connection, invoice_id: uuid.UUID) -> str:
    status: str = connection.execute(select(INV.c.status).where(INV.c.id == invoice_id)).scalar_one()
    return status


def lock(connection: Connection, invoice_id: uuid.UUID) -> RowMapping | None:
    return connection.execute(select(INV).where(INV.c.id == invoice_id).with_for_update()).mappings().one_or_none()


def insert_invoice(connection: Connection, **values: Any) -> None:
    connection.execute(insert(INV).values(**values))


def update_invoice(connection: Connection, invoice_id: uuid.UUID, *, now: datetime, **values: Any) -> int:
    version: int = connection.execute(
        update(INV)
        .where(INV.c.id == invoice_id)
        .values(**values, updated_at=now, version=INV.c.version + 1)
        .returning(INV.c.version)
    ).scalar_one()
    return version


def lines(connection: Connection, invoice_id: uuid.UUID) -> list[RowMapping]:
    return list(
        connection.execute(
            select(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id).order_by(invoice_lines.c.position)
        ).mappings()
    )


def replace_lines(connection: Connection, invoice_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
    connection.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id))
    if rows:
        connection.execute(
            insert(invoice_lines),
            [{"id": uuid.uuid4(), "invoice_id": invoice_id, "position": n, **row} for n, row in enumerate(rows, 1)],
        )


def attachments(connection: Connection, invoice_id: uuid.UUID) -> list[RowMapping]:
    return list(
        connection.execute(
            select(invoice_attachments)
            .where(invoice_attachments.c.invoice_id == invoice_id)
            .order_by(invoice_attachments.c.created_at, invoice_attachments.c.id)
        ).mappings()
    )


def attachment(connection: Connection, attachment_id: uuid.UUID, *, for_update: bool = False) -> RowMapping | None:
    query = select(invoice_attachments).where(invoice_attachments.c.id == attachment_id)
    if for_update:
        query = query.with_for_update()
    return connection.execute(query).mappings().one_or_none()


def uploaders(connection: Connection, invoice_id: uuid.UUID) -> set[uuid.UUID]:
    """Who added the invoice's attachments (each asked for the upload grant of one)."""
    return set(
        connection.scalars(
            select(invoice_attachments.c.created_by).where(invoice_attachments.c.invoice_id == invoice_id).distinct()
        )
    )


def insert_attachment(connection: Connection, **values: Any) -> None:
    connection.execute(insert(invoice_attachments).values(**values))


def update_attachment(connection: Connection, attachment_id: uuid.UUID, **values: Any) -> None:
    connection.execute(update(invoice_attachments).where(invoice_attachments.c.id == attachment_id).values(**values))


def duplicate_of(
    connection: Connection,
    invoice_id: uuid.UUID,
    *,
    vendor_key: str | None,
    number_key: str | None,
    hashes: Sequence[bytes],
) -> uuid.UUID | None:
    """The earliest other invoice with the same vendor and number, or an attachment of the same bytes."""
    same: list[ColumnElement[bool]] = []
    if vendor_key and number_key:
        same.append((INV.c.vendor_key == vendor_key) & (INV.c.invoice_number_key == number_key))
    if hashes:
        same.append(
            exists().where(invoice_attachments.c.invoice_id == INV.c.id, invoice_attachments.c.sha256.in_(hashes))
        )
    if not same:
        return None
    found: uuid.UUID | None = connection.scalar(
        select(INV.c.id)
        .where(INV.c.id != invoice_id, INV.c.status != "rejected", or_(*same))
        .order_by(INV.c.created_at, INV.c.id)
        .limit(1)
    )
    return found


def hashes_of(connection: Connection, invoice_id: uuid.UUID) -> list[bytes]:
    return list(
        connection.scalars(
            select(invoice_attachments.c.sha256).where(
                invoice_attachments.c.invoice_id == invoice_id, invoice_attachments.c.sha256.is_not(None)
            )
        )
    )


def page(
    connection: Connection, *, filters: list[ColumnElement[bool]], limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[RowMapping]:
    query = _with_link().where(*filters).order_by(INV.c.created_at.desc(), INV.c.id.desc()).limit(limit)
    if after is not None:
        query = query.where(tuple_(INV.c.created_at, INV.c.id) < tuple_(*after))
    return list(connection.execute(query).mappings())


def linked_request_status(connection: Connection, invoice_id: uuid.UUID) -> str | None:
    """The status of the payment request the invoice is linked to, if it is linked."""
    return connection.scalar(
        select(payment_requests.c.status)
        .join(pr_invoice_links, pr_invoice_links.c.payment_request_id == payment_requests.c.id)
        .where(pr_invoice_links.c.invoice_id == invoice_id)
    )


def linked() -> ColumnElement[bool]:
    """Linked to a payment request (pages read the link through an outer join)."""
    return pr_invoice_links.c.payment_request_id.is_not(None)


def contains(column: Any, text: str) -> ColumnElement[bool]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    result: ColumnElement[bool] = column.ilike(pattern, escape="\\")
    return result
