"""Payment-request flows: each runs on the caller's unit of work (one connection, one
transaction, owned by the route), locks the request it changes, and writes the change, its audit
event and its outbox row together."""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING, Any, Literal

from payreq.announce import Announced, announce
from payreq.db.records import columns_of
from payreq.errors import Conflict, Forbidden, InvalidInput, NotFound, detail, ensure_version, must_exist
from payreq.http.pagination import decode_newest_first
from payreq.money import check_fits, format_amount
from payreq.numbering import next_number
from pr_api import repository, rules
from pr_api.models import InvoiceSummary, PaymentRequestSummary, PaymentRequestView, StepView
from pr_api.records import NewDecision, NewPaymentRequestRow, RequestUpdate
from pr_api.settings import pr_settings

if TYPE_CHECKING:
    from collections.abc import Collection
    from datetime import datetime
    from typing import NotRequired, TypedDict, Unpack

    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext
    from payreq.outbox import Operation
    from pr_api.models import NewPaymentRequest, PaymentRequestChanges
    from pr_api.records import (
        Flow,
        LinkedInvoice,
        ListedRequest,
        PaymentRequestFilter,
        PaymentRequestRecord,
        StepRecord,
    )

    class Decided(TypedDict):
        """What a decision is made on and with: the version the approver read (If-Match), their comment."""

        read_version: int
        comment: str | None
        now: datetime
        on_behalf_of: NotRequired[uuid.UUID | None]


REQUEST = Announced(
    "payment_request",
    "pr",
    (
        "number",
        "title",
        "description",
        "payee",
        "amount",
        "currency",
        "due_date",
        "cost_centre",
        "status",
        "current_step",
        "approval_round",
        "approval_flow",
        "version",
    ),
)


# --- reading ------------------------------------------------------------------------------------


def view(connection: Connection, pr_id: uuid.UUID) -> PaymentRequestView:
    request = must_exist(repository.view(connection, pr_id), "No payment request with this id.")
    linked = [_invoice_summary(invoice) for invoice in request.invoices]
    return PaymentRequestView.model_validate({**_summary_fields(request), "invoices": linked})


def page_of(
    connection: Connection, which: PaymentRequestFilter, *, limit: int, cursor: str | None
) -> tuple[list[PaymentRequestSummary], str | None]:
    requests, next_cursor = repository.page(connection, which, limit=limit, after=decode_newest_first(cursor))
    return [PaymentRequestSummary.model_validate(_summary_fields(request)) for request in requests], next_cursor


def _summary_fields(request: ListedRequest) -> dict[str, Any]:
    return {
        **columns_of(request),
        "amount": format_amount(request.amount, request.currency),
        "invoices_total": format_amount(request.invoices_total, request.currency),
        "material_hash": request.material_hash.hex(),
        "steps": [StepView.model_validate(step) for step in request.steps],
    }


def _invoice_summary(invoice: LinkedInvoice) -> InvoiceSummary:
    total = invoice.total
    return InvoiceSummary.model_validate(
        {
            **columns_of(invoice),
            "total": format_amount(total, invoice.currency) if total is not None and invoice.currency else None,
        }
    )


# --- creating and editing -----------------------------------------------------------------------


def create(connection: Connection, context: RequestContext, request: NewPaymentRequest, *, now: datetime) -> uuid.UUID:
    assert context.user_id is not None
    flow = _flow_of(connection, context, request)
    ensure_approvers_exist(connection, flow)
    # Refused now rather than at submit: a request nobody could ever approve is no request.
    _ensure_completable(connection, rules.applicable_steps(flow, request.amount), makers={context.user_id})
    new = NewPaymentRequestRow(
        id=uuid.uuid4(),
        number=next_number(connection, "PR", now=now),
        **request.model_dump(exclude={"approval_flow"}),
        approval_flow=flow,
        status="draft",
        requester_id=context.user_id,
        last_editor_id=context.user_id,
        material_version=1,
        material_hash=rules.material_hash(request.amount, request.currency, request.payee, flow),
        created_at=now,
        updated_at=now,
    )
    created = repository.insert_request(connection, new)
    _announce(connection, context, "pr.created", before=None, after=created, op="created")
    return created.id


def _flow_of(connection: Connection, context: RequestContext, request: NewPaymentRequest) -> Flow:
    """The new request's flow: its template's steps, or the one it brings (if it may)."""
    if request.approval_flow_template_id is None:
        _ensure_may_define_flows(context)
        return [step.model_dump(mode="json") for step in request.approval_flow or ()]
    template = repository.template(connection, request.approval_flow_template_id)
    if template is None:
        raise InvalidInput(
            "There is no approval flow template with this id.",
            details=[detail("approvalFlowTemplateId", "no such template", "not_found")],
        )
    return template.steps


def edit(
    connection: Connection,
    context: RequestContext,
    pr_id: uuid.UUID,
    changes: PaymentRequestChanges,
    *,
    version: int,
    now: datetime,
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("edit", row.status)
    _ensure_requester(row, context, "edit")
    ensure_version(row.version, version, "The payment request changed since you read it; reload and edit again.")
    update = _update_of(connection, context, changes)
    try:
        check_fits(update.get("amount", row.amount), update.get("currency", row.currency))  # type: ignore[arg-type]
    except ValueError as error:
        raise InvalidInput(f"amount: {error}", details=[detail("amount", str(error), "invalid_amount")]) from None
    assert context.user_id is not None
    update["last_editor_id"] = context.user_id
    merged = dataclasses.replace(row, **update)  # type: ignore[arg-type]
    if "approval_flow" in update or "amount" in update:
        # Which steps apply, and who approves them, changes only with the flow or the amount (only
        # the requester edits, so the makers stay who they were).
        _ensure_completable(
            connection,
            rules.applicable_steps(merged.approval_flow, merged.amount),
            makers={row.requester_id, context.user_id},
        )
    if rules.is_material(update, row):
        update.update(_terms_changed(connection, merged, now=now))
    after = repository.update_request(connection, pr_id, update, now=now)
    _announce(connection, context, "pr.edited", before=row, after=after)


def _update_of(connection: Connection, context: RequestContext, changes: PaymentRequestChanges) -> RequestUpdate:
    """The columns an edit sets: those the request named (even to null), the flow as JSON."""
    given = changes.model_fields_set
    update = RequestUpdate()
    for name in ("title", "description", "payee", "amount", "currency", "due_date", "cost_centre"):
        if name in given:
            update[name] = getattr(changes, name)
    if changes.approval_flow is not None:
        _ensure_may_define_flows(context)
        update["approval_flow"] = [step.model_dump(mode="json") for step in changes.approval_flow]
        ensure_approvers_exist(connection, update["approval_flow"])
    return update


# --- transitions --------------------------------------------------------------------------------


def submit(connection: Connection, context: RequestContext, pr_id: uuid.UUID, *, now: datetime) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("submit", row.status)
    _ensure_requester(row, context, "submit")
    update = _freeze_steps(connection, row)
    update.update(RequestUpdate(status="pending", submitted_at=now))
    after = repository.update_request(connection, pr_id, update, now=now)
    _announce(connection, context, "pr.submitted", before=row, after=after)


def approve(connection: Connection, context: RequestContext, pr_id: uuid.UUID, **decided: Unpack[Decided]) -> None:
    row, step, extra = _decide(connection, context, pr_id, "approved", **decided)
    now = decided["now"]
    update = RequestUpdate()
    if repository.live_approval_count(connection, step.id) >= step.required:
        repository.set_step_completion(
            connection, pr_id, row.approval_round, positions_from=step.position, only=step.position, completed_at=now
        )
        steps = repository.round_steps(connection, pr_id, row.approval_round)
        if step.position + 1 < len(steps):
            update["current_step"] = step.position + 1
        else:
            update.update(RequestUpdate(status="approved", decided_at=now))
    after = repository.update_request(connection, pr_id, update, now=now)
    _announce(connection, context, "pr.approval_given", before=row, after=after, extra=extra)


def reject(connection: Connection, context: RequestContext, pr_id: uuid.UUID, **decided: Unpack[Decided]) -> None:
    row, _step, extra = _decide(connection, context, pr_id, "rejected", **decided)
    now = decided["now"]
    after = repository.update_request(connection, pr_id, RequestUpdate(status="rejected", decided_at=now), now=now)
    _announce(connection, context, "pr.rejected", before=row, after=after, extra=extra)


def _decide(
    connection: Connection,
    context: RequestContext,
    pr_id: uuid.UUID,
    decision: Literal["approved", "rejected"],
    *,
    read_version: int,
    comment: str | None,
    now: datetime,
    on_behalf_of: uuid.UUID | None = None,
) -> tuple[PaymentRequestRecord, StepRecord, dict[str, Any]]:
    """Record the caller's decision on the current step of a request they read at `read_version`,
    for themselves or on behalf of an approver who delegated to them: the request as it was, the
    step decided and what the audit event adds (the step, and for whom)."""
    row = _lock(connection, pr_id)
    rules.ensure_allowed("approve" if decision == "approved" else "reject", row.status)
    _ensure_current_terms(row, read_version)
    assert context.user_id is not None
    makers = (row.requester_id, row.last_editor_id)
    if decision == "approved" and context.user_id in makers:
        raise Forbidden(
            "You raised or last edited this payment request, so someone else must approve it.", code="maker_checker"
        )
    step, principal = _my_current_step(connection, row, context, on_behalf_of, now=now)
    if decision == "approved" and principal in makers:
        # The delegator's own eligibility: a delegation never lets a maker's approval in by the back door.
        raise Forbidden("The approver you act for raised or last edited this payment request.", code="maker_checker")
    new = NewDecision(
        payment_request_id=pr_id,
        step_id=step.id,
        approver_id=context.user_id,
        on_behalf_of=principal,
        decision=decision,
        comment=comment,
        created_at=now,
        material_hash=row.material_hash,
    )
    repository.insert_decision(connection, new)
    extra: dict[str, Any] = {"step": step.position}
    if principal is not None:
        extra["onBehalfOf"] = str(principal)
    return row, step, extra


def unapprove(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, *, read_version: int, now: datetime
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("unapprove", row.status)
    _ensure_current_terms(row, read_version)
    assert context.user_id is not None
    if repository.has_live_payments(connection, pr_id):
        raise Conflict(
            "A payment is recorded against this request: approvals can no longer be withdrawn.", code="payment_recorded"
        )
    mine = repository.my_live_approvals(connection, pr_id, row.approval_round, context.user_id)
    if not mine:
        raise Conflict("You have no approval on this payment request to withdraw.", code="nothing_to_withdraw")
    repository.void_approvals(
        connection, pr_id, reason="withdrawn", now=now, approval_ids=[approval.id for approval in mine]
    )
    update = RequestUpdate()
    broken = _first_broken_step(connection, row, from_position=mine[0].position)
    if broken is not None:
        # The step is no longer complete: approval resumes there, and what came after it is void.
        repository.set_step_completion(connection, pr_id, row.approval_round, positions_from=broken, completed_at=None)
        repository.void_approvals(
            connection,
            pr_id,
            reason="earlier step reopened",
            now=now,
            from_position=broken + 1,
            round_=row.approval_round,
        )
        update.update(RequestUpdate(status="pending", current_step=broken, decided_at=None))
    after = repository.update_request(connection, pr_id, update, now=now)
    _announce(connection, context, "pr.approval_withdrawn", before=row, after=after)


def cancel(connection: Connection, context: RequestContext, pr_id: uuid.UUID, *, now: datetime) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("cancel", row.status)
    _ensure_requester(row, context, "cancel")
    after = repository.update_request(connection, pr_id, RequestUpdate(status="cancelled", decided_at=now), now=now)
    _announce(connection, context, "pr.cancelled", before=row, after=after)


def delete(connection: Connection, context: RequestContext, pr_id: uuid.UUID) -> None:
    """The requester removes a draft (its invoice links with it). Its number stays used: the audit
    event keeps what the draft said, so the gap in the numbering is accounted for."""
    row = _lock(connection, pr_id)
    rules.ensure_allowed("delete", row.status)
    _ensure_requester(row, context, "delete")
    repository.delete_request(connection, pr_id)
    _announce(connection, context, "pr.deleted", before=row, after=None, op="deleted")


def link_invoice(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, invoice_id: uuid.UUID, *, now: datetime
) -> None:
    row = _lock_for_linking(connection, context, pr_id)
    invoice = must_exist(repository.invoice_for_linking(connection, invoice_id), "No invoice with this id.")
    if invoice.payment_request_id == pr_id:
        return  # already linked here: linking again changes nothing
    if invoice.payment_request_id is not None:
        raise Conflict(
            "The invoice is already linked to another payment request.",
            code="invoice_already_linked",
            details=[detail("invoiceId", f"linked to {invoice.payment_request_id}", "invoice_already_linked")],
        )
    if invoice.currency is not None and invoice.currency != row.currency:
        raise InvalidInput(
            f"The invoice is in {invoice.currency}, the payment request in {row.currency}.",
            code="currency_mismatch",
        )
    assert context.user_id is not None
    repository.link_invoice(connection, pr_id, invoice_id, context.user_id, now)
    after = repository.update_request(connection, pr_id, _invoices_changed(connection, row, context, now=now), now=now)
    _announce(connection, context, "pr.invoice_linked", before=row, after=after, extra={"invoiceId": str(invoice_id)})


def unlink_invoice(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, invoice_id: uuid.UUID, *, now: datetime
) -> None:
    row = _lock_for_linking(connection, context, pr_id)
    if not repository.unlink_invoice(connection, pr_id, invoice_id):
        raise NotFound("That invoice is not linked to this payment request.")
    after = repository.update_request(connection, pr_id, _invoices_changed(connection, row, context, now=now), now=now)
    _announce(connection, context, "pr.invoice_unlinked", before=row, after=after, extra={"invoiceId": str(invoice_id)})


# --- helpers ------------------------------------------------------------------------------------


def _announce(
    connection: Connection,
    context: RequestContext,
    action: str,
    *,
    before: PaymentRequestRecord | None,
    after: PaymentRequestRecord | None,
    op: Operation = "updated",
    extra: dict[str, Any] | None = None,
) -> None:
    """The request's change announced (`payreq.announce`): its audit event and outbox row."""
    pr_id = after.id if after is not None else before.id if before is not None else None
    assert pr_id is not None, "a change has a before, an after or both"
    announce(connection, context, REQUEST, op, action=action, entity_id=pr_id, before=before, after=after, extra=extra)


def _lock(connection: Connection, pr_id: uuid.UUID) -> PaymentRequestRecord:
    return must_exist(repository.lock(connection, pr_id), "No payment request with this id.")


def _ensure_requester(row: PaymentRequestRecord, context: RequestContext, verb: str) -> None:
    if row.requester_id != context.user_id:
        raise Forbidden(f"Only the requester may {verb} this payment request.", code="not_requester")


def _lock_for_linking(connection: Connection, context: RequestContext, pr_id: uuid.UUID) -> PaymentRequestRecord:
    """The request, locked, once the caller may change its invoices now."""
    row = _lock(connection, pr_id)
    rules.ensure_allowed("link", row.status)
    if row.requester_id != context.user_id and not context.can("pr.manage"):
        raise Forbidden(
            "Only the requester (or someone with pr.manage) may link or unlink this request's invoices.",
            code="not_requester",
        )
    return row


def _ensure_may_define_flows(context: RequestContext) -> None:
    # Otherwise a requester could route their own payment to a friend for approval.
    if pr_settings().inline_flows == "managers" and not context.can("flows.manage"):
        raise Forbidden(
            "Only holders of flows.manage may give a payment request its own approval flow; "
            "choose an approval flow template (approvalFlowTemplateId).",
            code="inline_flow_forbidden",
        )


def _ensure_current_terms(row: PaymentRequestRecord, read_version: int) -> None:
    rules.ensure_decided_on_current_terms(read_version, version=row.version, material_version=row.material_version)


def _ensure_completable(connection: Connection, steps: Flow, *, makers: Collection[object]) -> None:
    approvers = {uuid.UUID(str(approver)) for step in steps for approver in step["approvers"]}
    active = approvers - set(repository.unknown_users(connection, approvers))
    name = rules.unfulfillable_step(steps, makers={str(maker) for maker in makers}, eligible={str(a) for a in active})
    if name is not None:
        raise InvalidInput(
            f"Step '{name}' cannot be completed: it has fewer eligible approvers than it needs "
            "(the requester and the last editor may not approve, and every approver must be an active user).",
            code="step_cannot_complete",
            details=[detail("approvalFlow", f"step '{name}' cannot be completed", "step_cannot_complete")],
        )


def _terms_changed(connection: Connection, merged: PaymentRequestRecord, *, now: datetime) -> RequestUpdate:
    """The values a change of material terms adds: a new fingerprint, the version it happened at,
    and for a request under approval, approval starting over."""
    update = RequestUpdate(
        material_version=merged.version + 1,
        material_hash=rules.material_hash(
            merged.amount,
            merged.currency,
            merged.payee,
            merged.approval_flow,
            repository.linked_invoice_totals(connection, merged.id),
        ),
    )
    if merged.status in ("pending", "approved"):
        # Approvers agreed to the old terms: their approvals lapse and approval starts over.
        repository.void_approvals(connection, merged.id, reason="material change", now=now)
        update.update(_freeze_steps(connection, merged))
        update.update(RequestUpdate(status="pending", decided_at=None))
    return update


def _invoices_changed(
    connection: Connection, row: PaymentRequestRecord, context: RequestContext, *, now: datetime
) -> RequestUpdate:
    # Whoever changes what is to be paid is its last editor: maker-checker keeps them from approving.
    assert context.user_id is not None
    update = RequestUpdate(last_editor_id=context.user_id)
    update.update(_terms_changed(connection, dataclasses.replace(row, last_editor_id=context.user_id), now=now))
    return update


def ensure_approvers_exist(connection: Connection, flow: Flow) -> None:
    unknown = repository.unknown_users(connection, (uuid.UUID(str(a)) for step in flow for a in step["approvers"]))
    if unknown:
        raise InvalidInput(
            "Some approvers are not active users.",
            details=[detail("approvalFlow", f"{user} is not an active user", "unknown_approver") for user in unknown],
        )


def _freeze_steps(connection: Connection, row: PaymentRequestRecord) -> RequestUpdate:
    """Freeze the request's flow, as it applies to its amount, into the steps of a new round."""
    steps = rules.applicable_steps(row.approval_flow, row.amount)
    if not steps:
        raise InvalidInput("No step of the approval flow applies to this amount.", code="no_applicable_step")
    # Maker-checker would make a step that counts on its maker impossible to complete; an approver
    # deactivated since the flow was written cannot complete one either.
    _ensure_completable(connection, steps, makers={row.requester_id, row.last_editor_id})
    round_ = row.approval_round + 1
    repository.insert_steps(connection, row.id, round_, steps, rules.needed)
    return RequestUpdate(approval_round=round_, current_step=0)


def _my_current_step(
    connection: Connection,
    row: PaymentRequestRecord,
    context: RequestContext,
    on_behalf_of: uuid.UUID | None,
    *,
    now: datetime,
) -> tuple[StepRecord, uuid.UUID | None]:
    """The current step the caller may decide now, and for whom (None: for themselves)."""
    assert row.current_step is not None, "a pending request is at a step"
    assert context.user_id is not None
    caller = context.user_id
    step = repository.step(connection, row.id, row.approval_round, row.current_step)
    principal = _principal(connection, row, step, caller, None if on_behalf_of == caller else on_behalf_of, now=now)
    deciders = repository.live_deciders(connection, step.id)
    # One person, one decision per step: otherwise a delegate could supply two of an allof step's approvals.
    if any(caller in (decider.approver_id, decider.on_behalf_of) for decider in deciders):
        raise Conflict("You have already decided on this step.", code="already_decided")
    if principal is not None and any(principal in (d.approver_id, d.on_behalf_of) for d in deciders):
        raise Conflict("The approver you act for has already decided on this step.", code="already_decided")
    return step, principal


def _principal(
    connection: Connection,
    row: PaymentRequestRecord,
    step: StepRecord,
    caller: uuid.UUID,
    on_behalf_of: uuid.UUID | None,
    *,
    now: datetime,
) -> uuid.UUID | None:
    """For whom the caller decides: themselves (None) when they are an approver of the step and name
    nobody; else the delegator they name or, naming nobody, the only one whose delegation applies."""
    if on_behalf_of is None and caller in step.approvers:
        return None
    covering = {
        delegation.delegator_id
        for delegation in repository.active_delegations_to(connection, caller, now=now)
        if rules.delegation_covers(
            delegation, template_id=row.approval_flow_template_id, amount=row.amount, currency=row.currency
        )
    }
    if on_behalf_of is None:
        candidates = sorted(covering & set(step.approvers), key=str)
        if not candidates:
            raise Forbidden("You are not an approver of the current step.", code="not_an_approver")
        if len(candidates) > 1:
            raise InvalidInput(
                "You act for several approvers of this step: name the one you decide for (onBehalfOf).",
                code="delegation_ambiguous",
                details=[detail("onBehalfOf", f"one of {', '.join(map(str, candidates))}", "delegation_ambiguous")],
            )
        return candidates[0]
    if on_behalf_of not in covering:
        raise Forbidden(
            "No active delegation from that approver to you covers this payment request "
            "(its dates, its flows or its amount limit).",
            code="not_delegated",
        )
    if on_behalf_of not in step.approvers:
        raise Forbidden("The approver you act for is not an approver of the current step.", code="not_an_approver")
    return on_behalf_of


def _first_broken_step(connection: Connection, row: PaymentRequestRecord, *, from_position: int) -> int | None:
    for step in repository.round_steps(connection, row.id, row.approval_round):
        if step.position < from_position or step.completed_at is None:
            continue
        if repository.live_approval_count(connection, step.id) < step.required:
            return step.position
    return None
