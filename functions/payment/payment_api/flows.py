"""Payment methods and payments. Payments lock their payment request, so partial payments add up
exactly and two at once can never overpay; reaching the amount marks the request and its invoices
paid in the same transaction. Each flow runs on the caller's unit of work (the route owns it)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from payment_api import repository, rules
from payment_api.method_details import masked_details
from payment_api.models import Payment, PaymentMethod, PaymentRequestPosition
from payment_api.records import NewPaymentMethodRow, NewPaymentRow, PaymentMethodUpdate
from payreq.announce import Announced, announce
from payreq.db.records import columns_of
from payreq.errors import Conflict, InvalidInput, NotFound, detail, ensure_version, must_exist
from payreq.http.pagination import decode_newest_first
from payreq.money import format_amount

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from payment_api.models import NewPayment, NewPaymentMethod, PaymentMethodChanges
    from payment_api.records import PaymentFilter, PaymentMethodRecord, PaymentRecord, RequestToPay
    from payreq.context import RequestContext
    from payreq.outbox import Operation

PAYMENT_METHOD = Announced(
    "payment_method",
    "payment_method",
    ("payee", "type", "label", "details", "is_default", "deleted_at"),
    topics=lambda method_id, _: ["payments", f"payment_method:{method_id}"],
)
PAYMENT = Announced(
    "payment",
    "payment",
    ("payment_request_id", "amount", "currency", "external_reference", "paid_at", "voided_at", "void_reason"),
    topics=lambda payment_id, payment: ["payments", f"payment:{payment_id}", f"pr:{payment.payment_request_id}"],
)
# What a payment changes of its request, announced as the pr function announces requests.
PAYMENT_REQUEST = Announced("payment_request", "pr", ("status", "version"))


# --- payment methods ----------------------------------------------------------------------------


def add_method(
    connection: Connection, context: RequestContext, request: NewPaymentMethod, *, now: datetime
) -> uuid.UUID:
    if request.is_default:
        repository.clear_default(connection, request.payee, now=now)
    new = NewPaymentMethodRow(id=uuid.uuid4(), **request.model_dump(), created_by=context.user_id, created_at=now)
    added = repository.insert_method(connection, new)
    _announce_method(connection, context, "payment_method.added", before=None, after=added, op="created")
    return added.id


def change_method(
    connection: Connection,
    context: RequestContext,
    method_id: uuid.UUID,
    changes: PaymentMethodChanges,
    *,
    version: int,
    now: datetime,
) -> None:
    current = _live_method(connection, method_id)
    ensure_version(current.version, version, "The payment method changed since you read it; reload and edit again.")
    update = _update_of(changes, current)
    if update.get("is_default"):
        repository.clear_default(connection, current.payee, now=now, keep=method_id)
    changed = repository.update_method(connection, method_id, update, now=now)
    _announce_method(connection, context, "payment_method.changed", before=current, after=changed)


def remove_method(connection: Connection, context: RequestContext, method_id: uuid.UUID, *, now: datetime) -> None:
    """Soft delete: payments made with it keep pointing at a readable method."""
    current = _live_method(connection, method_id)
    removed = repository.update_method(
        connection, method_id, PaymentMethodUpdate(deleted_at=now, is_default=False), now=now
    )
    _announce_method(connection, context, "payment_method.removed", before=current, after=removed, op="deleted")


def method_view(connection: Connection, method_id: uuid.UUID) -> PaymentMethod:
    method = must_exist(repository.method(connection, method_id), "No payment method with this id.")
    return PaymentMethod.model_validate(method)


def _announce_method(
    connection: Connection,
    context: RequestContext,
    action: str,
    *,
    before: PaymentMethodRecord | None,
    after: PaymentMethodRecord,
    op: Operation = "updated",
) -> None:
    announce(connection, context, PAYMENT_METHOD, op, action=action, entity_id=after.id, before=before, after=after)


def _live_method(connection: Connection, method_id: uuid.UUID) -> PaymentMethodRecord:
    method = repository.method(connection, method_id, for_update=True)
    if method is None or method.deleted_at is not None:
        raise NotFound("No payment method with this id.")
    return method


def _update_of(changes: PaymentMethodChanges, current: PaymentMethodRecord) -> PaymentMethodUpdate:
    """The columns a change sets: those the request named, even to null."""
    update = PaymentMethodUpdate()
    given = changes.model_fields_set
    if "label" in given:
        update["label"] = changes.label
    if "details" in given:
        update["details"] = _masked(current.type, changes.details or {})
    if "is_default" in given:
        update["is_default"] = changes.is_default
    return update


def _masked(method_type: str, details: dict[str, Any]) -> dict[str, Any]:
    try:
        return masked_details(method_type, details)
    except ValueError as error:
        # `masked_details` names the field at fault (`field_error`), as a request body's validation does.
        field = str((getattr(error, "context", None) or {}).get("field", "details"))
        raise InvalidInput(str(error), details=[detail(field, str(error), "invalid_details")]) from None


# --- payments -----------------------------------------------------------------------------------


def record_payment(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, request: NewPayment, *, now: datetime
) -> uuid.UUID:
    assert context.user_id is not None
    pr = must_exist(repository.lock_request(connection, pr_id), "No payment request with this id.")
    rules.request_status_after("record", pr.status)
    if request.currency != pr.currency:
        raise InvalidInput(f"Pay in the request's currency, {pr.currency}.", code="currency_mismatch")
    _ensure_invoices_verified(connection, pr_id)
    if request.method_id is not None:
        _ensure_method_pays(connection, request.method_id, pr)
    outstanding = pr.amount - repository.paid_so_far(connection, pr_id)
    if request.amount > outstanding:
        raise Conflict(
            "That would pay more than the request's amount.",
            code="overpayment",
            details=[
                detail("amount", f"at most {format_amount(outstanding, pr.currency)} is outstanding", "overpayment")
            ],
        )
    new = NewPaymentRow(
        id=uuid.uuid4(),
        payment_request_id=pr_id,
        payment_method_id=request.method_id,
        amount=request.amount,
        currency=request.currency,
        external_reference=request.external_reference,
        paid_at=request.paid_at or now,
        recorded_by=context.user_id,
        created_at=now,
    )
    payment = repository.insert_payment(connection, new)
    settled = request.amount == outstanding
    if settled:
        repository.set_linked_invoices(connection, pr_id, status="paid", where_status=("verified",), now=now)
    # Audit last: the audit chain's lock is held from the first event until commit.
    _announce_payment(connection, context, payment, "payment.recorded", "created")
    _move_request(connection, context, pr, "settle" if settled else "record", now=now)
    return payment.id


def void_payment(
    connection: Connection, context: RequestContext, payment_id: uuid.UUID, reason: str, *, now: datetime
) -> None:
    assert context.user_id is not None
    found = must_exist(repository.payment(connection, payment_id), "No payment with this id.")
    pr = repository.lock_request(connection, found.payment_request_id)  # first the request, as payments do
    assert pr is not None
    current = repository.payment(connection, payment_id)  # read again under the request's lock
    assert current is not None
    rules.ensure_live(current.voided_at is not None)
    voided = repository.void(connection, payment_id, by=context.user_id, reason=reason, now=now)
    if rules.request_status_after("void", pr.status) != pr.status:
        repository.set_linked_invoices(connection, pr.id, status="verified", where_status=("paid",), now=now)
    # Audit last: the audit chain's lock is held from the first event until commit.
    _announce_payment(connection, context, voided, "payment.voided", "updated")
    _move_request(connection, context, pr, "void", now=now)


def _ensure_invoices_verified(connection: Connection, pr_id: uuid.UUID) -> None:
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


def _ensure_method_pays(connection: Connection, method_id: uuid.UUID, pr: RequestToPay) -> None:
    method = repository.method(connection, method_id)
    if method is None or method.deleted_at is not None:
        raise InvalidInput(
            "There is no payment method with this id.",
            details=[detail("methodId", "no such payment method", "not_found")],
        )
    if method.payee.strip().lower() != pr.payee.strip().lower():
        raise InvalidInput(
            f"That payment method belongs to {method.payee}, not {pr.payee}.", code="method_for_other_payee"
        )


def _announce_payment(
    connection: Connection,
    context: RequestContext,
    payment: PaymentRecord,
    action: str,
    op: Operation,
) -> None:
    # A payment's audit event keeps what it says now, not a diff: a payment is never edited.
    announce(connection, context, PAYMENT, op, action=action, entity_id=payment.id, before=None, after=payment)


def _move_request(
    connection: Connection, context: RequestContext, pr: RequestToPay, event: rules.Event, *, now: datetime
) -> None:
    """The request's status as the event leaves it, announced when it changed."""
    status = rules.request_status_after(event, pr.status)
    if status == pr.status:
        return
    moved = repository.set_request_status(connection, pr.id, status, now=now)
    action = "pr.paid" if status == "paid" else "pr.payment_voided"
    announce(connection, context, PAYMENT_REQUEST, "updated", action=action, entity_id=pr.id, before=pr, after=moved)


# --- reading ------------------------------------------------------------------------------------


def payment_views(connection: Connection, records: list[PaymentRecord]) -> list[Payment]:
    positions = repository.positions_by_id(connection, {payment.payment_request_id for payment in records})
    views = []
    for payment in records:
        pr = positions[payment.payment_request_id]
        position = PaymentRequestPosition(
            id=pr.id,
            status=pr.status,
            amount=format_amount(pr.amount, pr.currency),
            paid=format_amount(pr.paid, pr.currency),
            outstanding=format_amount(pr.amount - pr.paid, pr.currency),
        )
        shown = {
            "method_id": payment.payment_method_id,
            "amount": format_amount(payment.amount, payment.currency),
            "payment_request": position,
        }
        views.append(Payment.model_validate({**columns_of(payment), **shown}))
    return views


def payment_view(connection: Connection, payment_id: uuid.UUID) -> Payment:
    payment = must_exist(repository.payment(connection, payment_id), "No payment with this id.")
    return payment_views(connection, [payment])[0]


def page_of(
    connection: Connection, which: PaymentFilter, *, limit: int, cursor: str | None
) -> tuple[list[Payment], str | None]:
    payments, next_cursor = repository.page(connection, which, limit=limit, after=decode_newest_first(cursor))
    return payment_views(connection, payments), next_cursor
