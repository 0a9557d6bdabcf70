"""The SQL of invoices: rows, their lines and attachments, duplicates, and filtered pages."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, insert, or_, select, update

from invoice_api import rules
from invoice_api.records import Attachment, Invoice, InvoiceLine
from payreq.db.paging import given, newest_first
from payreq.db.records import columns_of, record_or_none, records_of
from payreq.db.schema import invoice_attachments, invoice_lines, invoices, payment_requests, pr_invoice_links

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import ColumnElement, Select

    from invoice_api.records import InvoiceFilter, InvoiceUpdate, LineValues, NewAttachment, UploadedVersion

INV = invoices


def _with_link() -> Select[Any]:
    return select(INV, pr_invoice_links.c.payment_request_id).select_from(
        INV.outerjoin(pr_invoice_links, pr_invoice_links.c.invoice_id == INV.c.id)
    )


def get(connection: Connection, invoice_id: uuid.UUID) -> Invoice | None:
    return record_or_none(
        Invoice, connection.execute(_with_link().where(INV.c.id == invoice_id)).mappings().one_or_none()
    )


def status_of(connection: Connection, invoice_id: uuid.UUID) -> str:
    status: str = connection.execute(select(INV.c.status).where(INV.c.id == invoice_id)).scalar_one()
    return status


def lock(connection: Connection, invoice_id: uuid.UUID) -> Invoice | None:
    """The invoice, its row locked (not its link's: the link is the payment request's to change)."""
    query = _with_link().where(INV.c.id == invoice_id).with_for_update(of=INV)
    return record_or_none(Invoice, connection.execute(query).mappings().one_or_none())


def insert_invoice(
    connection: Connection,
    invoice_id: uuid.UUID,
    *,
    reference: str,
    created_by: uuid.UUID,
    now: datetime,
    values: InvoiceUpdate,
) -> None:
    connection.execute(
        insert(INV).values(
            id=invoice_id, reference=reference, **values, created_by=created_by, created_at=now, updated_at=now
        )
    )


def update_invoice(
    connection: Connection, invoice_id: uuid.UUID, *, now: datetime, values: InvoiceUpdate | None = None
) -> Invoice:
    """Set `values` (none: only a new version); the invoice as the change left it."""
    connection.execute(
        update(INV).where(INV.c.id == invoice_id).values(**(values or {}), updated_at=now, version=INV.c.version + 1)
    )
    changed = get(connection, invoice_id)
    assert changed is not None, "updated in this transaction"
    return changed


def lines(connection: Connection, invoice_id: uuid.UUID) -> list[InvoiceLine]:
    return records_of(
        InvoiceLine,
        connection.execute(
            select(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id).order_by(invoice_lines.c.position)
        ).mappings(),
    )


def replace_lines(connection: Connection, invoice_id: uuid.UUID, rows: Sequence[LineValues]) -> None:
    connection.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id))
    if rows:
        connection.execute(
            insert(invoice_lines),
            [{"id": uuid.uuid4(), "invoice_id": invoice_id, "position": n, **row} for n, row in enumerate(rows, 1)],
        )


def attachments(connection: Connection, invoice_id: uuid.UUID) -> list[Attachment]:
    return records_of(
        Attachment,
        connection.execute(
            select(invoice_attachments)
            .where(invoice_attachments.c.invoice_id == invoice_id)
            .order_by(invoice_attachments.c.created_at, invoice_attachments.c.id)
        ).mappings(),
    )


def attachment(connection: Connection, attachment_id: uuid.UUID, *, for_update: bool = False) -> Attachment | None:
    query = select(invoice_attachments).where(invoice_attachments.c.id == attachment_id)
    if for_update:
        query = query.with_for_update()
    return record_or_none(Attachment, connection.execute(query).mappings().one_or_none())


def uploaders(connection: Connection, invoice_id: uuid.UUID) -> set[uuid.UUID]:
    """Who added the invoice's attachments (each asked for the upload grant of one)."""
    return set(
        connection.scalars(
            select(invoice_attachments.c.created_by).where(invoice_attachments.c.invoice_id == invoice_id).distinct()
        )
    )


def insert_attachment(connection: Connection, new: NewAttachment) -> None:
    connection.execute(insert(invoice_attachments).values(**columns_of(new)))


def record_version(connection: Connection, attachment_id: uuid.UUID, uploaded: UploadedVersion) -> None:
    connection.execute(
        update(invoice_attachments).where(invoice_attachments.c.id == attachment_id).values(**columns_of(uploaded))
    )


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
    connection: Connection, narrowed: InvoiceFilter, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> tuple[list[Invoice], str | None]:
    """Newest first, `limit` of them after the (created_at, id) `after`, and the next page's cursor."""
    query = _with_link().where(*_conditions(narrowed))
    return newest_first(connection, Invoice, query, INV.c.created_at, INV.c.id, limit=limit, after=after)


def _conditions(narrowed: InvoiceFilter) -> list[ColumnElement[bool]]:
    number_key = rules.invoice_number_key(narrowed.number)
    return given(
        INV.c.status == narrowed.status if narrowed.status else None,
        _contains(INV.c.vendor, narrowed.vendor) if narrowed.vendor else None,
        INV.c.invoice_number_key == number_key if number_key else None,
        INV.c.issue_date >= narrowed.issue_from if narrowed.issue_from else None,
        INV.c.issue_date <= narrowed.issue_to if narrowed.issue_to else None,
        INV.c.due_date >= narrowed.due_from if narrowed.due_from else None,
        INV.c.due_date <= narrowed.due_to if narrowed.due_to else None,
        INV.c.total >= narrowed.total_min if narrowed.total_min is not None else None,
        INV.c.total <= narrowed.total_max if narrowed.total_max is not None else None,
        _either(_linked(), narrowed.linked),
        _either(_flagged(), narrowed.duplicate),
    )


def _either(condition: ColumnElement[bool], wanted: bool | None) -> ColumnElement[bool] | None:
    """`condition` when True is wanted, its negation when False, no condition when None."""
    if wanted is None:
        return None
    return condition if wanted else ~condition


def linked_request_status(connection: Connection, invoice_id: uuid.UUID) -> str | None:
    """The status of the payment request the invoice is linked to, if it is linked."""
    return connection.scalar(
        select(payment_requests.c.status)
        .join(pr_invoice_links, pr_invoice_links.c.payment_request_id == payment_requests.c.id)
        .where(pr_invoice_links.c.invoice_id == invoice_id)
    )


def _linked() -> ColumnElement[bool]:
    """Linked to a payment request (pages read the link through an outer join)."""
    return pr_invoice_links.c.payment_request_id.is_not(None)


def _flagged() -> ColumnElement[bool]:
    """Flagged as a duplicate, and nobody has overridden the flag."""
    return INV.c.duplicate_of.is_not(None) & INV.c.duplicate_override_reason.is_(None)


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    result: ColumnElement[bool] = column.ilike(pattern, escape="\\")
    return result
