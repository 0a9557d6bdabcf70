"""The SQL of payment methods and payments: typed records out, typed changes in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from payment_api.records import PaymentMethodRecord, PaymentRecord, RequestPosition, RequestToPay
from payreq.db.paging import given, newest_first
from payreq.db.records import columns_of, record_of, record_or_none, records_of
from payreq.db.schema import invoices, payment_methods, payment_requests, payments, pr_invoice_links

if TYPE_CHECKING:
    import uuid
    from datetime import datetime
    from decimal import Decimal

    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import ColumnElement

    from payment_api.records import MethodFilter, NewPaymentMethodRow, NewPaymentRow, PaymentFilter, PaymentMethodUpdate

METHODS, PAYMENTS, PR = payment_methods, payments, payment_requests


# --- payment methods ----------------------------------------------------------------------------


def method(connection: Connection, method_id: uuid.UUID, *, for_update: bool = False) -> PaymentMethodRecord | None:
    query = select(METHODS).where(METHODS.c.id == method_id)
    row = connection.execute(query.with_for_update() if for_update else query).mappings().one_or_none()
    return record_or_none(PaymentMethodRecord, row)


def methods(connection: Connection, which: MethodFilter) -> list[PaymentMethodRecord]:
    query = select(METHODS).order_by(func.lower(METHODS.c.payee), METHODS.c.created_at, METHODS.c.id)
    if which["payee"]:
        query = query.where(func.lower(METHODS.c.payee) == which["payee"].strip().lower())
    if not which["include_deleted"]:
        query = query.where(METHODS.c.deleted_at.is_(None))
    return records_of(PaymentMethodRecord, connection.execute(query).mappings())


def insert_method(connection: Connection, new: NewPaymentMethodRow) -> PaymentMethodRecord:
    """The new method as stored (no second read for its audit event)."""
    row = connection.execute(insert(METHODS).values(**columns_of(new), updated_at=new.created_at).returning(METHODS))
    return record_of(PaymentMethodRecord, row.mappings().one())


def update_method(
    connection: Connection, method_id: uuid.UUID, changes: PaymentMethodUpdate, *, now: datetime
) -> PaymentMethodRecord:
    """Apply `changes` as a new version; the method as it now stands."""
    row = connection.execute(
        update(METHODS)
        .where(METHODS.c.id == method_id)
        .values(**changes, updated_at=now, version=METHODS.c.version + 1)
        .returning(METHODS)
    )
    return record_of(PaymentMethodRecord, row.mappings().one())


def clear_default(connection: Connection, payee: str, *, now: datetime, keep: uuid.UUID | None = None) -> None:
    """One default per payee: whoever becomes the default, the previous one stops being it."""
    conditions = [func.lower(METHODS.c.payee) == payee.lower(), METHODS.c.is_default, METHODS.c.deleted_at.is_(None)]
    if keep is not None:
        conditions.append(METHODS.c.id != keep)
    connection.execute(
        update(METHODS).where(*conditions).values(is_default=False, updated_at=now, version=METHODS.c.version + 1)
    )


# --- payment requests, as payments see them -----------------------------------------------------


def lock_request(connection: Connection, pr_id: uuid.UUID) -> RequestToPay | None:
    """The payment request, locked: payments against one request take turns, so none overpays."""
    row = connection.execute(select(PR).where(PR.c.id == pr_id).with_for_update()).mappings().one_or_none()
    return record_or_none(RequestToPay, row)


def set_request_status(connection: Connection, pr_id: uuid.UUID, status: str, *, now: datetime) -> RequestToPay:
    """The request moved to `status` as a new version, as it now stands."""
    row = connection.execute(
        update(PR).where(PR.c.id == pr_id).values(status=status, updated_at=now, version=PR.c.version + 1).returning(PR)
    )
    return record_of(RequestToPay, row.mappings().one())


def paid_so_far(connection: Connection, pr_id: uuid.UUID) -> Decimal:
    paid: Decimal = connection.execute(
        select(func.coalesce(func.sum(PAYMENTS.c.amount), 0)).where(
            PAYMENTS.c.payment_request_id == pr_id, PAYMENTS.c.voided_at.is_(None)
        )
    ).scalar_one()
    return paid


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


def positions_by_id(connection: Connection, pr_ids: set[uuid.UUID]) -> dict[uuid.UUID, RequestPosition]:
    """Each request's status, amount and what its live payments add up to (one query)."""
    paid = (
        select(func.coalesce(func.sum(PAYMENTS.c.amount), 0))
        .where(PAYMENTS.c.payment_request_id == PR.c.id, PAYMENTS.c.voided_at.is_(None))
        .scalar_subquery()
    )
    rows = connection.execute(
        select(PR.c.id, PR.c.status, PR.c.amount, PR.c.currency, paid.label("paid")).where(PR.c.id.in_(pr_ids))
    ).mappings()
    return {position.id: position for position in records_of(RequestPosition, rows)}


# --- payments -----------------------------------------------------------------------------------


def insert_payment(connection: Connection, new: NewPaymentRow) -> PaymentRecord:
    """The new payment as stored (no second read for its audit event)."""
    row = connection.execute(insert(PAYMENTS).values(**columns_of(new)).returning(PAYMENTS))
    return record_of(PaymentRecord, row.mappings().one())


def payment(connection: Connection, payment_id: uuid.UUID) -> PaymentRecord | None:
    row = connection.execute(select(PAYMENTS).where(PAYMENTS.c.id == payment_id)).mappings().one_or_none()
    return record_or_none(PaymentRecord, row)


def void(connection: Connection, payment_id: uuid.UUID, *, by: uuid.UUID, reason: str, now: datetime) -> PaymentRecord:
    """The payment voided, as it now stands."""
    row = connection.execute(
        update(PAYMENTS)
        .where(PAYMENTS.c.id == payment_id)
        .values(voided_at=now, voided_by=by, void_reason=reason)
        .returning(PAYMENTS)
    )
    return record_of(PaymentRecord, row.mappings().one())


def page(
    connection: Connection, which: PaymentFilter, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> tuple[list[PaymentRecord], str | None]:
    """Newest first, `limit` of them after the (created_at, id) `after`, and the next page's cursor."""
    query = select(PAYMENTS).where(*_conditions(which))
    return newest_first(
        connection, PaymentRecord, query, PAYMENTS.c.created_at, PAYMENTS.c.id, limit=limit, after=after
    )


def _conditions(which: PaymentFilter) -> list[ColumnElement[bool]]:
    return given(
        PAYMENTS.c.payment_request_id == which["pr_id"] if which["pr_id"] else None,
        PAYMENTS.c.payment_method_id == which["method_id"] if which["method_id"] else None,
        None if which["include_voided"] else PAYMENTS.c.voided_at.is_(None),
    )
