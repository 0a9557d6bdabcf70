"""Payment methods and payments. Payments lock their payment request, so partial payments add up
exactly and two at once can never overpay; reaching the amount marks the request and its invoices
paid in the same transaction."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from payment_api import repository
from payment_api.models import Payment, PaymentMethod, PaymentRequestPosition
from payreq.audit import record_change
from payreq.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, detail, stale_version
from payreq.http.pagination import decode_newest_first, newest_first_page
from payreq.money import format_amount
from payreq.outbox import publish_change

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection, RowMapping

    from payment_api.models import NewPayment, NewPaymentMethod, PaymentMethodChanges
    from payreq.context import RequestContext

AUDITED_METHOD = ("payee", "type", "label", "details", "is_default", "deleted_at")


# --- payment methods ----------------------------------------------------------------------------


def add_method(
    connection: Connection, context: RequestContext, request: NewPaymentMethod, *, now: datetime
) -> uuid.UUID:
    method_id = uuid.uuid4()
    if request.is_default:
        repository.clear_default(connection, request.payee, now=now)
    repository.insert_method(
        connection, id=method_id, **request.model_dump(), created_by=context.user_id, created_at=now, updated_at=now
    )
    _announce_method(connection, context, method_id, "payment_method.added", None, "created")
    return method_id


def change_method(
    connection: Connection,
    context: RequestContext,
    method_id: uuid.UUID,
    changes: PaymentMethodChanges,
    *,
    version: int,
    now: datetime,
) -> None:
    from payment_api.models import masked_details

    current = _live_method(connection, method_id)
    if current["version"] != version:
        raise PreconditionFailed(
            "The payment method changed since you read it; reload and edit again.",
            details=[stale_version(current["version"])],
        )
    values: dict[str, Any] = changes.model_dump(exclude_unset=True)
    if "details" in values:
        try:
            values["details"] = masked_details(current["type"], values["details"] or {})
        except ValueError as error:
            # `masked_details` names the field at fault (`field_error`), as a request body's validation does.
            field = str((getattr(error, "context", None) or {}).get("field", "details"))
            raise InvalidInput(str(error), details=[detail(field, str(error), "invalid_details")]) from None
    if values.get("is_default"):
        repository.clear_default(connection, current["payee"], now=now, keep=method_id)
    repository.update_method(connection, method_id, now=now, **values)
    _announce_method(connection, context, method_id, "payment_method.changed", current)


def remove_method(connection: Connection, context: RequestContext, method_id: uuid.UUID, *, now: datetime) -> None:
    """Soft delete: payments made with it keep pointing at a readable method."""
    current = _live_method(connection, method_id)
    repository.update_method(connection, method_id, now=now, deleted_at=now, is_default=False)
    _announce_method(connection, context, method_id, "payment_method.removed", current, "deleted")


def method_view(connection: Connection, method_id: uuid.UUID) -> PaymentMethod:
    row = repository.method(connection, method_id)
    if row is None:
        raise NotFound("No payment method with this id.")
    return PaymentMethod.model_validate(dict(row))


def _live_method(connection: Connection, method_id: uuid.UUID) -> RowMapping:
    row = repository.method(connection, method_id, for_update=True)
    if row is None or row["deleted_at"] is not None:
        raise NotFound("No payment method with this id.")
    return row


def _announce_method(
    connection: Connection,
    context: RequestContext,
    method_id: uuid.UUID,
    action: str,
    before: RowMapping | None,
    op: str = "updated",
) -> None:
    after = repository.method(connection, method_id)
    assert after is not None
    record_change(
        connection,
        context,
        action=action,
        entity_type="payment_method",
        entity_id=method_id,
        before={k: before[k] for k in AUDITED_METHOD} if before else None,
        after={k: after[k] for k in AUDITED_METHOD},
    )
    publish_change(
        connection,
        entity="payment_method",
        entity_id=method_id,
        op=op,  # type: ignore[arg-type]
        version=after["version"],
        topics=["payments", f"payment_method:{method_id}"],
        action=action,
    )


# --- payments -----------------------------------------------------------------------------------


def record_payment(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, request: NewPayment, *, now: datetime
) -> uuid.UUID:
    assert context.user_id is not None
    pr = repository.lock_request(connection, pr_id)
    if pr is None:
        raise NotFound("No payment request with this id.")
    if pr["status"] != "approved":
        raise Conflict(
            f"Only approved payment requests can be paid; this one is {pr['status']}.",
            code="invalid_transition",
            details=[detail("paymentRequestId", f"the request is {pr['status']}", "invalid_transition")],
        )
    if request.currency != pr["currency"]:
        raise InvalidInput(f"Pay in the request's currency, {pr['currency']}.", code="currency_mismatch")
    unverified = repository.unverified_linked_invoices(connection, pr_id)
    if unverified:
        # What was verified is what gets paid: an invoice nobody checked is not paid through its request.
        raise Conflict(
            "Every invoice linked to the request must be verified before it is paid.",
            code="invoices_not_verified",
            details=[
                detail("paymentRequestId", f"invoice {invoice} is not verified", "invoice_not_verified")
                for invoice in unverified
            ],
        )
    if request.method_id is not None:
        method = repository.method(connection, request.method_id)
        if method is None or method["deleted_at"] is not None:
            raise InvalidInput(
                "There is no payment method with this id.",
                details=[detail("methodId", "no such payment method", "not_found")],
            )
        if method["payee"].strip().lower() != pr["payee"].strip().lower():
            raise InvalidInput(
                f"That payment method belongs to {method['payee']}, not {pr['payee']}.", code="method_for_other_payee"
            )
    paid = repository.paid_so_far(connection, pr_id)
    outstanding = pr["amount"] - paid
    if request.amount > outstanding:
        raise Conflict(
            "That would pay more than the request's amount.",
            code="overpayment",
            details=[
                detail("amount", f"at most {format_amount(outstanding, pr['currency'])} is outstanding", "overpayment")
            ],
        )
    payment_id = uuid.uuid4()
    repository.insert_payment(
        connection,
        id=payment_id,
        payment_request_id=pr_id,
        payment_method_id=request.method_id,
        amount=request.amount,
        currency=request.currency,
        external_reference=request.external_reference,
        paid_at=request.paid_at or now,
        recorded_by=context.user_id,
        created_at=now,
    )
    settled = request.amount == outstanding
    if settled:
        repository.set_linked_invoices(connection, pr_id, status="paid", where_status=("verified",), now=now)
    # Audit last: the audit chain's lock is held from the first event until commit.
    _announce_payment(connection, context, payment_id, "payment.recorded", "created")
    if settled:
        _set_request(connection, context, pr, "paid", now=now)
    return payment_id


def void_payment(
    connection: Connection, context: RequestContext, payment_id: uuid.UUID, reason: str, *, now: datetime
) -> None:
    assert context.user_id is not None
    found = repository.payment(connection, payment_id)
    if found is None:
        raise NotFound("No payment with this id.")
    pr = repository.lock_request(connection, found["payment_request_id"])  # first the request, as payments do
    assert pr is not None
    if repository.payment(connection, payment_id)["voided_at"] is not None:  # type: ignore[index]
        raise Conflict("This payment is already void.", code="already_voided")
    repository.void(connection, payment_id, by=context.user_id, reason=reason, now=now)
    if pr["status"] == "paid":
        repository.set_linked_invoices(connection, pr["id"], status="verified", where_status=("paid",), now=now)
    # Audit last: the audit chain's lock is held from the first event until commit.
    _announce_payment(connection, context, payment_id, "payment.voided")
    if pr["status"] == "paid":
        _set_request(connection, context, pr, "approved", now=now)


def payment_views(connection: Connection, rows: list[RowMapping]) -> list[Payment]:
    requests = repository.requests_by_id(connection, {row["payment_request_id"] for row in rows})
    views = []
    for row in rows:
        pr = requests[row["payment_request_id"]]
        currency = pr["currency"]
        position = PaymentRequestPosition(
            id=pr["id"],
            status=pr["status"],
            amount=format_amount(pr["amount"], currency),
            paid=format_amount(pr["paid"], currency),
            outstanding=format_amount(pr["amount"] - pr["paid"], currency),
        )
        views.append(
            Payment.model_validate(
                {
                    **row,
                    "method_id": row["payment_method_id"],
                    "amount": format_amount(row["amount"], row["currency"]),
                    "payment_request": position,
                }
            )
        )
    return views


def payment_view(connection: Connection, payment_id: uuid.UUID) -> Payment:
    row = repository.payment(connection, payment_id)
    if row is None:
        raise NotFound("No payment with this id.")
    return payment_views(connection, [row])[0]


def page_of(
    connection: Connection,
    *,
    pr_id: uuid.UUID | None,
    method_id: uuid.UUID | None,
    include_voided: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[Payment], str | None]:
    from payreq.db.schema import payments

    position = decode_newest_first(cursor)
    filters = [
        condition
        for condition in (
            payments.c.payment_request_id == pr_id if pr_id else None,
            payments.c.payment_method_id == method_id if method_id else None,
            None if include_voided else payments.c.voided_at.is_(None),
        )
        if condition is not None
    ]
    rows = repository.page(connection, filters=filters, limit=limit + 1, after=position)
    rows, next_cursor = newest_first_page(rows, limit)
    return payment_views(connection, rows), next_cursor


def _announce_payment(
    connection: Connection, context: RequestContext, payment_id: uuid.UUID, action: str, op: str = "updated"
) -> None:
    row = repository.payment(connection, payment_id)
    assert row is not None
    fields = ("payment_request_id", "amount", "currency", "external_reference", "paid_at", "voided_at", "void_reason")
    record_change(
        connection,
        context,
        action=action,
        entity_type="payment",
        entity_id=payment_id,
        after={key: row[key] for key in fields},
    )
    publish_change(
        connection,
        entity="payment",
        entity_id=payment_id,
        op=op,  # type: ignore[arg-type]
        topics=["payments", f"payment:{payment_id}", f"pr:{row['payment_request_id']}"],
        action=action,
    )


def _set_request(
    connection: Connection, context: RequestContext, pr: RowMapping, status: str, *, now: datetime
) -> None:
    version = repository.set_request_status(connection, pr["id"], status, now=now)
    action = f"pr.{status}" if status == "paid" else "pr.payment_voided"
    record_change(
        connection,
        context,
        action=action,
        entity_type="payment_request",
        entity_id=pr["id"],
        before={"status": pr["status"], "version": pr["version"]},
        after={"status": status, "version": version},
    )
    publish_change(connection, entity="pr", entity_id=pr["id"], op="updated", version=version, action=action)
