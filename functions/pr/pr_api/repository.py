"""The SQL of payment requests and approval flow templates: typed records out (`records.py`), typed
changes in. Reads fetch a page of requests with their steps, live approvals and invoice totals in
one statement, whatever the page size, and one request with all of that and its invoices in one."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError

from payreq.db.paging import given, newest_first
from payreq.db.records import columns_of, record_of, record_or_none, records_of
from payreq.db.schema import (
    approval_delegations,
    approval_flow_templates,
    approval_steps,
    approvals,
    invoices,
    payment_requests,
    payments,
    pr_invoice_links,
    user_permissions,
    users,
)
from pr_api.records import (
    DelegationRecord,
    InvoiceToLink,
    LinkedInvoice,
    ListedDelegation,
    ListedRequest,
    MyApproval,
    PaymentRequestRecord,
    StepDecider,
    StepRecord,
    StepWithApprovals,
    TemplateRecord,
    ViewedRequest,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sqlalchemy.engine import Connection, RowMapping
    from sqlalchemy.sql import ColumnElement, Executable

    from pr_api.records import (
        NewDecision,
        NewDelegationRow,
        NewPaymentRequestRow,
        NewTemplateRow,
        PaymentRequestFilter,
        RequestUpdate,
        TemplateUpdate,
    )

PR = payment_requests
_EMPTY_JSON: ColumnElement[Any] = literal_column("'[]'::json")


def _json_object(*keys_and_values: Any) -> Any:
    """`json_build_object(key, value, ...)` with the keys written into the statement: they are this
    module's constants, and as bound parameters (SQLAlchemy's way with a Python string) every run
    of a read would encode and send each one again."""
    return func.json_build_object(
        *(literal_column(f"'{item}'") if index % 2 == 0 else item for index, item in enumerate(keys_and_values))
    )


def _with_invoice_totals(*, listing_invoices: bool = False) -> Any:
    """Requests with their linked invoices' count and total (and, for one request's view, the
    invoices themselves) from one lateral subquery: no second query for them."""
    columns = [
        func.count(invoices.c.id).label("invoice_count"),
        func.coalesce(func.sum(invoices.c.total), literal_column("0")).label("invoices_total"),
    ]
    if listing_invoices:
        # Amounts as text: JSON numbers would come back as floats.
        summary = _json_object(
            *("id", invoices.c.id, "reference", invoices.c.reference, "invoice_number", invoices.c.invoice_number),
            *("vendor", invoices.c.vendor, "currency", invoices.c.currency, "status", invoices.c.status),
            *("total", cast(invoices.c.total, Text)),
        )
        ordered = aggregate_order_by(summary, pr_invoice_links.c.linked_at, invoices.c.id)
        columns.append(func.coalesce(func.json_agg(ordered), _EMPTY_JSON).label("invoices"))
    linked = (
        select(*columns)
        .select_from(pr_invoice_links.join(invoices, invoices.c.id == pr_invoice_links.c.invoice_id))
        .where(pr_invoice_links.c.payment_request_id == PR.c.id)
        .lateral("linked")
    )
    return select(PR, *(linked.c[column.name] for column in columns)).select_from(
        PR.join(linked, literal_column("true"))
    )


def lock(connection: Connection, pr_id: uuid.UUID) -> PaymentRequestRecord | None:
    """The request's row, locked until commit: decisions on one request take turns here."""
    row = connection.execute(select(PR).where(PR.c.id == pr_id).with_for_update()).mappings().one_or_none()
    return record_or_none(PaymentRequestRecord, row)


def insert_request(connection: Connection, new: NewPaymentRequestRow) -> PaymentRequestRecord:
    """The new request's row, as stored (no second read for its audit event)."""
    row = connection.execute(insert(PR).values(**columns_of(new)).returning(PR)).mappings().one()
    return record_of(PaymentRequestRecord, row)


def delete_request(connection: Connection, pr_id: uuid.UUID) -> None:
    """Remove the request; its steps, decisions and invoice links go with it (ON DELETE CASCADE)."""
    connection.execute(delete(PR).where(PR.c.id == pr_id))


def update_request(
    connection: Connection, pr_id: uuid.UUID, changes: RequestUpdate, *, now: datetime
) -> PaymentRequestRecord:
    """Apply `changes` as a new version; the row as it now stands."""
    row = connection.execute(
        update(PR).where(PR.c.id == pr_id).values(**changes, updated_at=now, version=PR.c.version + 1).returning(PR)
    )
    return record_of(PaymentRequestRecord, row.mappings().one())


def _display_name(user_id: Any) -> Any:
    return select(users.c.display_name).where(users.c.id == user_id).scalar_subquery()


def _live_approvals() -> Any:
    """The live approvals of the step being selected (`approval_steps`), oldest first, as JSON in
    the API's own shape (`ApprovalJson`)."""
    on_behalf_of = case(
        (
            approvals.c.on_behalf_of.is_not(None),
            _json_object("id", approvals.c.on_behalf_of, "displayName", _display_name(approvals.c.on_behalf_of)),
        ),
    )
    approval = _json_object(
        *("approverId", approvals.c.approver_id, "onBehalfOf", on_behalf_of),
        *("decision", approvals.c.decision),
        *("comment", approvals.c.comment, "createdAt", approvals.c.created_at),
        *("materialHash", func.encode(approvals.c.material_hash, literal_column("'hex'"))),
    )
    return (
        select(func.coalesce(func.json_agg(aggregate_order_by(approval, approvals.c.created_at)), _EMPTY_JSON))
        .where(approvals.c.step_id == approval_steps.c.id, approvals.c.voided_at.is_(None))
        .scalar_subquery()
    )


def _current_steps_as_json() -> Any:
    """The current round's steps of the request being selected (`PR`), in order, each with its
    live approvals, as one JSON array: a request's steps in the statement that reads the request
    (its view, or a page of a list), so they come from the same snapshot."""
    step = _json_object(
        *("id", approval_steps.c.id, "payment_request_id", approval_steps.c.payment_request_id),
        *("round", approval_steps.c.round, "position", approval_steps.c.position, "name", approval_steps.c.name),
        *("mode", approval_steps.c.mode, "required", approval_steps.c.required),
        *("approvers", approval_steps.c.approvers, "completed_at", approval_steps.c.completed_at),
        *("approvals", _live_approvals()),
    )
    return (
        select(func.coalesce(func.json_agg(aggregate_order_by(step, approval_steps.c.position)), _EMPTY_JSON))
        .where(approval_steps.c.payment_request_id == PR.c.id, approval_steps.c.round == PR.c.approval_round)
        .scalar_subquery()
    )


# The hot reads are built once per container, not per request: building a statement and its
# cache key costs more Python time than the query's round trip.
_CURRENT_STEPS = _current_steps_as_json().label("steps")
_VIEW_BY_ID = (
    _with_invoice_totals(listing_invoices=True).add_columns(_CURRENT_STEPS).where(PR.c.id == bindparam("pr_id"))
)


def view(connection: Connection, pr_id: uuid.UUID) -> ViewedRequest | None:
    """The request with its linked invoices, in the order they were linked, and its current round's
    steps with their live approvals: one statement, so one round trip and one snapshot (a decision
    landing meanwhile is seen whole, with the request's version and status it left, or not at all)."""
    row = connection.execute(_VIEW_BY_ID, {"pr_id": pr_id}).mappings().one_or_none()
    if row is None:
        return None
    invoices = [_linked_invoice(invoice) for invoice in row["invoices"]]
    return record_of(ViewedRequest, {**_with_steps(row), "invoices": invoices})


def _with_steps(row: RowMapping) -> dict[str, Any]:
    return {**row, "steps": [_step_of_json(step) for step in row["steps"]]}


def _linked_invoice(invoice: Mapping[str, Any]) -> LinkedInvoice:
    # As JSON: the id and the total come back as text.
    return record_of(
        LinkedInvoice,
        {
            **invoice,
            "id": uuid.UUID(invoice["id"]),
            "total": None if invoice["total"] is None else Decimal(invoice["total"]),
        },
    )


def _step_of_json(step: Mapping[str, Any]) -> StepWithApprovals:
    # As JSON: ids and the time come back as text (the time in ISO 8601, with the session's offset).
    completed_at = step["completed_at"]
    return record_of(
        StepWithApprovals,
        {
            **step,
            "id": uuid.UUID(step["id"]),
            "payment_request_id": uuid.UUID(step["payment_request_id"]),
            "approvers": [uuid.UUID(approver) for approver in step["approvers"]],
            "completed_at": None if completed_at is None else datetime.fromisoformat(completed_at),
        },
    )


def insert_steps(
    connection: Connection,
    pr_id: uuid.UUID,
    round_: int,
    steps: Iterable[Mapping[str, Any]],
    needed: Callable[[Mapping[str, Any]], int],
) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "payment_request_id": pr_id,
            "round": round_,
            "position": position,
            "name": step["name"],
            "mode": step["mode"],
            "required": needed(step),
            "approvers": [uuid.UUID(str(approver)) for approver in step["approvers"]],
        }
        for position, step in enumerate(steps)
    ]
    if rows:
        connection.execute(insert(approval_steps), rows)


def step(connection: Connection, pr_id: uuid.UUID, round_: int, position: int) -> StepRecord:
    row = connection.execute(
        select(approval_steps).where(
            approval_steps.c.payment_request_id == pr_id,
            approval_steps.c.round == round_,
            approval_steps.c.position == position,
        )
    )
    return record_of(StepRecord, row.mappings().one())


def round_steps(connection: Connection, pr_id: uuid.UUID, round_: int) -> list[StepRecord]:
    rows = connection.execute(
        select(approval_steps)
        .where(approval_steps.c.payment_request_id == pr_id, approval_steps.c.round == round_)
        .order_by(approval_steps.c.position)
    )
    return records_of(StepRecord, rows.mappings())


def live_approval_count(connection: Connection, step_id: uuid.UUID) -> int:
    return int(
        connection.scalar(
            select(func.count()).where(
                approvals.c.step_id == step_id, approvals.c.voided_at.is_(None), approvals.c.decision == "approved"
            )
        )
        or 0
    )


def live_deciders(connection: Connection, step_id: uuid.UUID) -> list[StepDecider]:
    """Who has decided the step so far (live decisions), and for whom."""
    rows = connection.execute(
        select(approvals.c.approver_id, approvals.c.on_behalf_of).where(
            approvals.c.step_id == step_id, approvals.c.voided_at.is_(None)
        )
    )
    return records_of(StepDecider, rows.mappings())


def insert_decision(connection: Connection, new: NewDecision) -> None:
    connection.execute(insert(approvals).values(id=uuid.uuid4(), **new))


def my_live_approvals(
    connection: Connection, pr_id: uuid.UUID, round_: int, approver_id: uuid.UUID
) -> list[MyApproval]:
    return records_of(
        MyApproval,
        connection.execute(
            select(approvals.c.id, approval_steps.c.position)
            .join(approval_steps, approval_steps.c.id == approvals.c.step_id)
            .where(
                approvals.c.payment_request_id == pr_id,
                approval_steps.c.round == round_,
                # Made by them, or by a delegate on their behalf: either may withdraw it.
                or_(approvals.c.approver_id == approver_id, approvals.c.on_behalf_of == approver_id),
                approvals.c.voided_at.is_(None),
                approvals.c.decision == "approved",
            )
            .order_by(approval_steps.c.position)
        ).mappings(),
    )


def void_approvals(
    connection: Connection,
    pr_id: uuid.UUID,
    *,
    reason: str,
    now: datetime,
    approval_ids: Sequence[uuid.UUID] | None = None,
    from_position: int | None = None,
    round_: int | None = None,
) -> int:
    conditions: list[ColumnElement[bool]] = [approvals.c.payment_request_id == pr_id, approvals.c.voided_at.is_(None)]
    if approval_ids is not None:
        conditions.append(approvals.c.id.in_(approval_ids))
    if from_position is not None:
        in_later_steps = select(approval_steps.c.id).where(
            approval_steps.c.payment_request_id == pr_id,
            approval_steps.c.round == round_,
            approval_steps.c.position >= from_position,
        )
        conditions.append(approvals.c.step_id.in_(in_later_steps))
    return connection.execute(update(approvals).where(*conditions).values(voided_at=now, void_reason=reason)).rowcount


def set_step_completion(
    connection: Connection,
    pr_id: uuid.UUID,
    round_: int,
    *,
    positions_from: int,
    completed_at: datetime | None,
    only: int | None = None,
) -> None:
    position = approval_steps.c.position
    which = position == only if only is not None else position >= positions_from
    connection.execute(
        update(approval_steps)
        .where(approval_steps.c.payment_request_id == pr_id, approval_steps.c.round == round_, which)
        .values(completed_at=completed_at)
    )


def has_live_payments(connection: Connection, pr_id: uuid.UUID) -> bool:
    return bool(
        connection.scalar(
            select(exists().where(payments.c.payment_request_id == pr_id, payments.c.voided_at.is_(None)))
        )
    )


def holds_permission(connection: Connection, user_id: uuid.UUID, permission: str) -> bool:
    """Whether `user_id` is an active user holding `permission`."""
    return bool(
        connection.scalar(
            select(
                exists()
                .select_from(users.join(user_permissions, user_permissions.c.user_id == users.c.id))
                .where(users.c.id == user_id, users.c.is_active, user_permissions.c.permission == permission)
            )
        )
    )


def unknown_users(connection: Connection, user_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    wanted = set(user_ids)
    found = set(connection.scalars(select(users.c.id).where(users.c.id.in_(wanted), users.c.is_active)))
    return sorted(wanted - found, key=str)


def linked_invoice_totals(connection: Connection, pr_id: uuid.UUID) -> list[tuple[uuid.UUID, Decimal | None]]:
    """Each linked invoice's id and total: part of the request's material terms."""
    rows = connection.execute(
        select(invoices.c.id, invoices.c.total)
        .join(pr_invoice_links, pr_invoice_links.c.invoice_id == invoices.c.id)
        .where(pr_invoice_links.c.payment_request_id == pr_id)
    )
    return [(row.id, row.total) for row in rows]


def invoice_for_linking(connection: Connection, invoice_id: uuid.UUID) -> InvoiceToLink | None:
    row = connection.execute(
        select(invoices.c.id, invoices.c.currency, invoices.c.status, pr_invoice_links.c.payment_request_id)
        .outerjoin(pr_invoice_links, pr_invoice_links.c.invoice_id == invoices.c.id)
        .where(invoices.c.id == invoice_id)
        .with_for_update(of=invoices)
    )
    return record_or_none(InvoiceToLink, row.mappings().one_or_none())


def link_invoice(
    connection: Connection, pr_id: uuid.UUID, invoice_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    connection.execute(
        insert(pr_invoice_links).values(
            invoice_id=invoice_id, payment_request_id=pr_id, linked_by=user_id, linked_at=now
        )
    )


def unlink_invoice(connection: Connection, pr_id: uuid.UUID, invoice_id: uuid.UUID) -> int:
    return connection.execute(
        delete(pr_invoice_links).where(
            pr_invoice_links.c.invoice_id == invoice_id, pr_invoice_links.c.payment_request_id == pr_id
        )
    ).rowcount


def page(
    connection: Connection,
    which: PaymentRequestFilter,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[ListedRequest], str | None]:
    """Newest first, `limit` of them after the (created_at, id) `after`, and the next page's cursor:
    each with its current round's steps and their live approvals, in one statement (one round trip
    and one snapshot, as `view`)."""
    query = _with_invoice_totals().add_columns(_CURRENT_STEPS).where(*_conditions(which))
    return newest_first(
        connection, ListedRequest, query, PR.c.created_at, PR.c.id, limit=limit, after=after, decode=_with_steps
    )


def _conditions(which: PaymentRequestFilter) -> list[ColumnElement[bool]]:
    amount_min, amount_max = which["amount_min"], which["amount_max"]
    return given(
        PR.c.status == which["status"] if which["status"] else None,
        PR.c.requester_id == which["requester"] if which["requester"] else None,
        _awaiting(which["awaiting"]) if which["awaiting"] else None,
        _text_matches(which["text"]) if which["text"] else None,
        PR.c.amount >= amount_min if amount_min is not None else None,
        PR.c.amount <= amount_max if amount_max is not None else None,
        PR.c.created_at >= which["created_from"] if which["created_from"] else None,
        PR.c.created_at < which["created_to"] if which["created_to"] else None,
    )


def _awaiting(user_id: uuid.UUID) -> ColumnElement[bool]:
    """Pending requests whose current step `user_id` may still decide, for themselves or for an
    approver of it whose active delegation to them covers the request (the rules of
    `flows._my_current_step`: nobody decides a step twice, and no maker approves, delegator or not)."""
    current = and_(
        approval_steps.c.payment_request_id == PR.c.id,
        approval_steps.c.round == PR.c.approval_round,
        approval_steps.c.position == PR.c.current_step,
    )
    mine = select(approval_steps.c.id).where(
        current,
        literal(user_id, approval_steps.c.id.type) == any_(approval_steps.c.approvers),
        ~_decided_by(user_id),
    )
    delegator = DELEGATIONS.c.delegator_id
    for_a_delegator = (
        select(approval_steps.c.id)
        .join(DELEGATIONS, delegator == any_(approval_steps.c.approvers))
        .where(
            current,
            _delegation_covers_request(user_id),
            delegator != PR.c.requester_id,
            delegator != PR.c.last_editor_id,
            ~_decided_by(user_id),
            ~_decided_by(delegator),
        )
    )
    # explicit: PR is reached through a lateral join, which auto-correlation misses
    either = or_(exists(mine.correlate(PR)), exists(for_a_delegator.correlate(PR)))
    return and_(PR.c.status == "pending", either, PR.c.requester_id != user_id, PR.c.last_editor_id != user_id)


def _decided_by(person: uuid.UUID | ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    """The current step has a live decision by `person`, or by a delegate for them."""
    return exists().where(
        approvals.c.step_id == approval_steps.c.id,
        or_(approvals.c.approver_id == person, approvals.c.on_behalf_of == person),
        approvals.c.voided_at.is_(None),
    )


def _delegation_covers_request(delegate_id: uuid.UUID) -> ColumnElement[bool]:
    """`rules.delegation_covers` and `active_delegations_to`, in SQL, for the request in `PR`."""
    return and_(
        DELEGATIONS.c.delegate_id == delegate_id,
        DELEGATIONS.c.revoked_at.is_(None),
        DELEGATIONS.c.starts_at <= func.now(),
        DELEGATIONS.c.ends_at > func.now(),
        or_(
            DELEGATIONS.c.flow_template_ids.is_(None),
            PR.c.approval_flow_template_id == any_(DELEGATIONS.c.flow_template_ids),
        ),
        or_(
            DELEGATIONS.c.amount_limit.is_(None),
            and_(PR.c.currency == DELEGATIONS.c.limit_currency, PR.c.amount <= DELEGATIONS.c.amount_limit),
        ),
    )


def _text_matches(query: str) -> ColumnElement[bool]:
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        *(column.ilike(pattern, escape="\\") for column in (PR.c.title, PR.c.description, PR.c.payee, PR.c.number))
    )


# --- approval flow templates --------------------------------------------------------------------

TEMPLATES = approval_flow_templates


def template(connection: Connection, template_id: uuid.UUID, *, for_update: bool = False) -> TemplateRecord | None:
    query = select(TEMPLATES).where(TEMPLATES.c.id == template_id)
    if for_update:
        query = query.with_for_update()
    return record_or_none(TemplateRecord, connection.execute(query).mappings().one_or_none())


def all_templates(connection: Connection) -> list[TemplateRecord]:
    return records_of(
        TemplateRecord, connection.execute(select(TEMPLATES).order_by(func.lower(TEMPLATES.c.name))).mappings()
    )


def insert_template(connection: Connection, new: NewTemplateRow) -> bool:
    """Store the template; False, and nothing stored, when another has its name."""
    return _unless_name_taken(connection, insert(TEMPLATES).values(**columns_of(new), updated_at=new.created_at))


def update_template(connection: Connection, template_id: uuid.UUID, changes: TemplateUpdate, *, now: datetime) -> bool:
    """Apply `changes` as a new version; False, and nothing changed, when another has the new name."""
    statement = (
        update(TEMPLATES)
        .where(TEMPLATES.c.id == template_id)
        .values(**changes, updated_at=now, version=TEMPLATES.c.version + 1)
    )
    return _unless_name_taken(connection, statement)


def _unless_name_taken(connection: Connection, statement: Executable) -> bool:
    # A savepoint, so a taken name leaves the caller's transaction usable for its error response.
    savepoint = connection.begin_nested()
    try:
        connection.execute(statement)
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


# --- approval delegations -----------------------------------------------------------------------

DELEGATIONS = approval_delegations
_DELEGATOR = users.alias("delegator")
_DELEGATE = users.alias("delegate")
_LISTED_DELEGATIONS = select(
    DELEGATIONS, _DELEGATOR.c.display_name.label("delegator_name"), _DELEGATE.c.display_name.label("delegate_name")
).select_from(
    DELEGATIONS.join(_DELEGATOR, _DELEGATOR.c.id == DELEGATIONS.c.delegator_id).join(
        _DELEGATE, _DELEGATE.c.id == DELEGATIONS.c.delegate_id
    )
)


def insert_delegation(connection: Connection, new: NewDelegationRow) -> DelegationRecord:
    row = connection.execute(insert(DELEGATIONS).values(**columns_of(new)).returning(DELEGATIONS)).mappings().one()
    return record_of(DelegationRecord, row)


def delegation(connection: Connection, delegation_id: uuid.UUID) -> ListedDelegation | None:
    row = connection.execute(_LISTED_DELEGATIONS.where(DELEGATIONS.c.id == delegation_id)).mappings().one_or_none()
    return record_or_none(ListedDelegation, row)


def lock_delegation(connection: Connection, delegation_id: uuid.UUID) -> DelegationRecord | None:
    row = connection.execute(select(DELEGATIONS).where(DELEGATIONS.c.id == delegation_id).with_for_update())
    return record_or_none(DelegationRecord, row.mappings().one_or_none())


def revoke_delegation(
    connection: Connection, delegation_id: uuid.UUID, *, by: uuid.UUID, now: datetime
) -> DelegationRecord:
    row = connection.execute(
        update(DELEGATIONS)
        .where(DELEGATIONS.c.id == delegation_id)
        .values(revoked_at=now, revoked_by=by, version=DELEGATIONS.c.version + 1)
        .returning(DELEGATIONS)
    )
    return record_of(DelegationRecord, row.mappings().one())


def delegation_page(
    connection: Connection,
    *,
    involving: uuid.UUID | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[ListedDelegation], str | None]:
    """Newest first; only those `involving` gave or received, unless None (all of them)."""
    query = _LISTED_DELEGATIONS
    if involving is not None:
        query = query.where(or_(DELEGATIONS.c.delegator_id == involving, DELEGATIONS.c.delegate_id == involving))
    created_at, delegation_id = DELEGATIONS.c.created_at, DELEGATIONS.c.id
    return newest_first(connection, ListedDelegation, query, created_at, delegation_id, limit=limit, after=after)


def active_delegations_to(connection: Connection, delegate_id: uuid.UUID, *, now: datetime) -> list[DelegationRecord]:
    """The delegations `delegate_id` may act on now (their flows and limits still to be checked)."""
    rows = connection.execute(
        select(DELEGATIONS)
        .where(
            DELEGATIONS.c.delegate_id == delegate_id,
            DELEGATIONS.c.revoked_at.is_(None),
            DELEGATIONS.c.starts_at <= now,
            DELEGATIONS.c.ends_at > now,
        )
        .order_by(DELEGATIONS.c.created_at)
    )
    return records_of(DelegationRecord, rows.mappings())
