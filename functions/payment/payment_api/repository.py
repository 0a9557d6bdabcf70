"""The SQL of payment methods and payments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, tuple_, update

from payreq.db.schema import invoices, payment_methods, payment_requests, payments, pr_invoice_links

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Connection, RowMapping
    from sqlalchemy.sql import ColumnElement

METHODS, PAYMENTS, PR = payment_methods, payments, payment_requests


def method(connection: Connection, method_id: uuid.UUID, *, for_update: bool = False) -> RowMapping | None:
    query = select(METHODS).where(METHODS.c.id == method_id)
    return connection.execute(query.with_for_update() if for_update else query).mappings().one_or_none()


def methods(connection: Connection, *, payee: str | None, include_deleted: bool) -> list[RowMapping]:
    query = select(METHODS).order_by(func.lower(METHODS.c.payee), METHODS.c.created_at, METHODS.c.id)
    if payee:
        query = query.where(func.lower(METHODS.c.payee) == payee.strip().lower())
    if not include_deleted:
        query = query.where(METHODS.c.deleted_at.is_(None))
    return list(connection.execute(query).mappings())


def insert_method(connection: Connection, **values: Any) -> None:
    connection.execute(insert(METHODS).values(**values))


def update_method(connection: Connection, method_id: uuid.UUID, *, now: datetime, **values: Any) -> None:
    connection.execute(
        update(METHODS).where(METHODS.c.id == method_id).values(**values, updated_at=now, version=METHODS.c.version + 1)
    )


def clear_default(connection: Connection, payee: str, *, now: datetime, keep: uuid.UUID | None = None) -> None:
    """One default per payee: whoever becomes the default, the previous one stops being it."""
    conditions = [func.lower(METHODS.c.payee) == payee.lower(), METHODS.c.is_default, METHODS.c.deleted_at.is_(None)]
    if keep is not None:
        conditions.append(METHODS.c.id != keep)
    connection.execute(
        update(METHODS).where(*conditions).values(is_default=False, updated_at=now, version=METHODS.c.version + 1)
    )


def lock_request(connection: Connection, pr_id: uuid.UUID) -> RowMapping | None:
    """The payment request, locked: payments against one request take turns, so none overpays."""
    return connection.execute(select(PR).where(PR.c.id == pr_id).with_for_update()).mappings().one_or_none()


def paid_so_far(connection: Connection, pr_id: uuid.UUID) -> Any:
    return connection.scalar(
        select(func.coalesce(func.sum(PAYMENTS.c.amount), 0)).where(
            PAYMENTS.c.payment_request_id == pr_id, PAYMENTS.c.voided_at.is_(None)
        )
    )


def insert_payment(connection: Connection, **values: Any) -> None:
    connection.execute(insert(PAYMENTS).values(**values))


def payment(connection: Connection, payment_id: uuid.UUID) -> RowMapping | None:
    return connection.execute(select(PAYMENTS).where(PAYMENTS.c.id == payment_id)).mappings().one_or_none()


def void(connection: Connection, payment_id: uuid.UUID, *, by: uuid.UUID, reason: str, now: datetime) -> None:
    connection.execute(
        update(PAYMENTS).where(PAYMENTS.c.id == payment_id).values(voided_at=now, voided_by=by, void_reason=reason)
    )


def set_request_status(connection: Connection, pr_id: uuid.UUID, status: str, *, now: datetime) -> int:
    version: int = connection.execute(
        update(PR)
        .where(PR.c.id == pr_id)
        .values(status=status, updated_at=now, version=PR.c.version + 1)
        .returning(PR.c.version)
    ).scalar_one()
    return version


def unverified_linked_invoices(connection: Connection, pr_id: uuid.UUID) -> list[str]:
    """The references of the request's linked invoices that are neither verified nor paid."""
    return list(
        connection.scalars(
            select(invoices.c.reference)
            .join(pr_invoice_links, pr_invoice_links.c.invoice_id == invoices.c.id)
            .where(pr_invoice_links.c.payment_request_id == pr_id, invoices.c.status.not_in(("verified", "paid")))
            .order_by(invoices.c.reference)
        )
    )


def set_linked_invoices(
    connection: Connection, pr_id: uuid.UUID, *, status: str, where_status: tuple[str, ...], now: datetime
) -> list[uuid.UUID]:
    linked = select(pr_invoice_links.c.invoice_id).where(pr_invoice_links.c.payment_request_id == pr_id)
    return list(
        connection.scalars(
            update(invoices)
            .where(invoices.c.id.in_(linked), invoices.c.status.in_(where_status))
            .values(status=status, updated_at=now, version=invoices.c.version + 1)
            .returning(invoices.c.id)
        )
    )


def page(
    connection: Connection, *, filters: list[ColumnElement[bool]], limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[RowMapping]:
    query = select(PAYMENTS).where(*filters).order_by(PAYMENTS.c.created_at.desc(), PAYMENTS.c.id.desc()).limit(limit)
    if after is not None:
        query = query.where(tuple_(PAYMENTS.c.created_at, PAYMENTS.c.id) < tuple_(*after))
    return list(connection.execute(query).mappings())


def requests_by_id(connection: Connection, pr_ids: set[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
    paid = (
        select(func.coalesce(func.sum(PAYMENTS.c.amount), 0))
        .where(PAYMENTS.c.payment_request_id == PR.c.id, PAYMENTS.c.voided_at.is_(None))
        .scalar_subquery()
    )
    rows = connection.execute(
        select(PR.c.id, PR.c.status, PR.c.amount, PR.c.currency, paid.label("paid")).where(PR.c.id.in_(pr_ids))
    ).mappings()
    return {row["id"]: row for row in rows}
