"""Payment-request flows: each runs on the caller's unit of work (one connection, one
transaction), locks the request it changes, and writes the change, its audit event and its
outbox row together."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from payreq.announce import Announced, announce
from payreq.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, detail, stale_version
from payreq.http.pagination import decode_newest_first, newest_first_page
from payreq.money import check_fits, format_amount
from payreq.numbering import next_number
from pr_api import repository, rules
from pr_api.models import InvoiceSummary, PaymentRequestSummary, PaymentRequestView, StepView
from pr_api.settings import pr_settings

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from datetime import datetime

    from sqlalchemy.engine import Connection, RowMapping

    from payreq.context import RequestContext
    from payreq.outbox import Operation
    from pr_api.models import NewPaymentRequest, PaymentRequestChanges

AUDITED = (
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
)


# --- reading ------------------------------------------------------------------------------------


def view(connection: Connection, pr_id: uuid.UUID) -> PaymentRequestView:
    row = repository.get(connection, pr_id, with_invoices=True)
    if row is None:
        raise NotFound("No payment request with this id.")
    summary = summaries(connection, [row])[0]
    linked = [
        InvoiceSummary.model_validate(
            {
                **invoice,
                "total": format_amount(Decimal(invoice["total"]), invoice["currency"])
                if invoice["total"] is not None and invoice["currency"]
                else None,
            }
        )
        for invoice in row["invoices"]
    ]
    return PaymentRequestView.model_validate({**summary.model_dump(), "invoices": linked})


def summaries(connection: Connection, rows: list[RowMapping]) -> list[PaymentRequestSummary]:
    steps = repository.steps_by_request(connection, rows)
    return [
        PaymentRequestSummary.model_validate(
            {
                **row,
                "amount": format_amount(row["amount"], row["currency"]),
                "invoices_total": format_amount(row["invoices_total"], row["currency"]),
                "material_hash": row["material_hash"].hex(),
                "steps": [StepView.model_validate(step) for step in steps[row["id"]]],
            }
        )
        for row in rows
    ]


# --- creating and editing -----------------------------------------------------------------------


def create(connection: Connection, context: RequestContext, request: NewPaymentRequest, *, now: datetime) -> uuid.UUID:
    assert context.user_id is not None
    if request.approval_flow_template_id is not None:
        template = repository.template(connection, request.approval_flow_template_id)
        if template is None:
            raise InvalidInput(
                "There is no approval flow template with this id.",
                details=[detail("approvalFlowTemplateId", "no such template", "not_found")],
            )
        flow = template["steps"]
    else:
        _ensure_may_define_flows(context)
        flow = [step.model_dump(mode="json") for step in request.approval_flow or ()]
    ensure_approvers_exist(connection, flow)
    # Refused now rather than at submit: a request nobody could ever approve is no request.
    _ensure_completable(connection, rules.applicable_steps(flow, request.amount), makers={context.user_id})
    pr_id = uuid.uuid4()
    values = request.model_dump(exclude={"approval_flow", "approval_flow_template_id"})
    created = repository.insert_request(
        connection,
        id=pr_id,
        number=next_number(connection, "PR", now=now),
        **values,
        approval_flow=flow,
        approval_flow_template_id=request.approval_flow_template_id,
        status="draft",
        requester_id=context.user_id,
        last_editor_id=context.user_id,
        material_version=1,
        material_hash=rules.material_hash(request.amount, request.currency, request.payee, flow),
        created_at=now,
        updated_at=now,
    )
    _announce(connection, context, created, "pr.created", before=None, op="created")
    return pr_id


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
    rules.ensure_allowed("edit", row["status"])
    _ensure_requester(row, context, "edit")
    if row["version"] != version:
        raise PreconditionFailed(
            "The payment request changed since you read it; reload and edit again.",
            details=[stale_version(row["version"])],
        )
    values: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"approval_flow"})
    if changes.approval_flow is not None:
        _ensure_may_define_flows(context)
        values["approval_flow"] = [step.model_dump(mode="json") for step in changes.approval_flow]
        ensure_approvers_exist(connection, values["approval_flow"])
    try:
        check_fits(values.get("amount", row["amount"]), values.get("currency", row["currency"]))
    except ValueError as error:
        raise InvalidInput(f"amount: {error}", details=[detail("amount", str(error), "invalid_amount")]) from None
    values["last_editor_id"] = context.user_id
    merged = {**row, **values}
    if "approval_flow" in values or "amount" in values:
        # Which steps apply, and who approves them, changes only with the flow or the amount (only
        # the requester edits, so the makers stay who they were).
        _ensure_completable(
            connection,
            rules.applicable_steps(merged["approval_flow"], merged["amount"]),
            makers={row["requester_id"], context.user_id},
        )
    if rules.is_material(values, row):
        values.update(_terms_changed(connection, merged, now=now))
    before = dict(row)
    after = repository.update_request(connection, pr_id, now=now, **values)
    _announce(connection, context, after, "pr.edited", before=before)


# --- transitions --------------------------------------------------------------------------------


def submit(connection: Connection, context: RequestContext, pr_id: uuid.UUID, *, now: datetime) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("submit", row["status"])
    _ensure_requester(row, context, "submit")
    values = _freeze_steps(connection, row, now=now)
    after = repository.update_request(connection, pr_id, now=now, status="pending", submitted_at=now, **values)
    _announce(connection, context, after, "pr.submitted", before=row)


def approve(
    connection: Connection,
    context: RequestContext,
    pr_id: uuid.UUID,
    *,
    read_version: int,
    comment: str | None,
    now: datetime,
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("approve", row["status"])
    _ensure_current_terms(row, read_version)
    if context.user_id in (row["requester_id"], row["last_editor_id"]):
        raise Forbidden(
            "You raised or last edited this payment request, so someone else must approve it.", code="maker_checker"
        )
    step = _my_current_step(connection, row, context)
    repository.insert_decision(
        connection,
        payment_request_id=pr_id,
        step_id=step["id"],
        approver_id=context.user_id,
        decision="approved",
        comment=comment,
        created_at=now,
        material_hash=row["material_hash"],
    )
    values: dict[str, Any] = {}
    if repository.live_approval_count(connection, step["id"]) >= step["required"]:
        repository.set_step_completion(
            connection,
            pr_id,
            row["approval_round"],
            positions_from=step["position"],
            only=step["position"],
            completed_at=now,
        )
        steps = repository.round_steps(connection, pr_id, row["approval_round"])
        if step["position"] + 1 < len(steps):
            values["current_step"] = step["position"] + 1
        else:
            values.update(status="approved", decided_at=now)
    after = repository.update_request(connection, pr_id, now=now, **values)
    _announce(connection, context, after, "pr.approval_given", before=row, extra={"step": step["position"]})


def reject(
    connection: Connection,
    context: RequestContext,
    pr_id: uuid.UUID,
    *,
    read_version: int,
    comment: str | None,
    now: datetime,
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("reject", row["status"])
    _ensure_current_terms(row, read_version)
    step = _my_current_step(connection, row, context)
    repository.insert_decision(
        connection,
        payment_request_id=pr_id,
        step_id=step["id"],
        approver_id=context.user_id,
        decision="rejected",
        comment=comment,
        created_at=now,
        material_hash=row["material_hash"],
    )
    after = repository.update_request(connection, pr_id, now=now, status="rejected", decided_at=now)
    _announce(connection, context, after, "pr.rejected", before=row, extra={"step": step["position"]})


def unapprove(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, *, read_version: int, now: datetime
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("unapprove", row["status"])
    _ensure_current_terms(row, read_version)
    assert context.user_id is not None
    if repository.has_live_payments(connection, pr_id):
        raise Conflict(
            "A payment is recorded against this request: approvals can no longer be withdrawn.", code="payment_recorded"
        )
    mine = repository.my_live_approvals(connection, pr_id, row["approval_round"], context.user_id)
    if not mine:
        raise Conflict("You have no approval on this payment request to withdraw.", code="nothing_to_withdraw")
    repository.void_approvals(
        connection, pr_id, reason="withdrawn", now=now, approval_ids=[approval["id"] for approval in mine]
    )
    values: dict[str, Any] = {}
    broken = _first_broken_step(connection, row, from_position=mine[0]["position"])
    if broken is not None:
        # The step is no longer complete: approval resumes there, and what came after it is void.
        repository.set_step_completion(
            connection, pr_id, row["approval_round"], positions_from=broken, completed_at=None
        )
        repository.void_approvals(
            connection,
            pr_id,
            reason="earlier step reopened",
            now=now,
            from_position=broken + 1,
            round_=row["approval_round"],
        )
        values.update(status="pending", current_step=broken, decided_at=None)
    after = repository.update_request(connection, pr_id, now=now, **values)
    _announce(connection, context, after, "pr.approval_withdrawn", before=row)


def cancel(connection: Connection, context: RequestContext, pr_id: uuid.UUID, *, now: datetime) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("cancel", row["status"])
    _ensure_requester(row, context, "cancel")
    after = repository.update_request(connection, pr_id, now=now, status="cancelled", decided_at=now)
    _announce(connection, context, after, "pr.cancelled", before=row)


def delete(connection: Connection, context: RequestContext, pr_id: uuid.UUID) -> None:
    """The requester removes a draft (its invoice links with it). Its number stays used: the audit
    event keeps what the draft said, so the gap in the numbering is accounted for."""
    row = _lock(connection, pr_id)
    rules.ensure_allowed("delete", row["status"])
    _ensure_requester(row, context, "delete")
    repository.delete_request(connection, pr_id)
    announce(
        connection, context, PAYMENT_REQUEST, "deleted", action="pr.deleted", entity_id=pr_id, before=row, after=None
    )


def link_invoice(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, invoice_id: uuid.UUID, *, now: datetime
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("link", row["status"])
    _ensure_may_link(row, context)
    invoice = repository.invoice_for_linking(connection, invoice_id)
    if invoice is None:
        raise NotFound("No invoice with this id.")
    if invoice["payment_request_id"] == pr_id:
        return  # already linked here: linking again changes nothing
    if invoice["payment_request_id"] is not None:
        raise Conflict(
            "The invoice is already linked to another payment request.",
            code="invoice_already_linked",
            details=[detail("invoiceId", f"linked to {invoice['payment_request_id']}", "invoice_already_linked")],
        )
    if invoice["currency"] is not None and invoice["currency"] != row["currency"]:
        raise InvalidInput(
            f"The invoice is in {invoice['currency']}, the payment request in {row['currency']}.",
            code="currency_mismatch",
        )
    assert context.user_id is not None
    repository.link_invoice(connection, pr_id, invoice_id, context.user_id, now)
    after = repository.update_request(
        connection, pr_id, now=now, **_invoices_changed(connection, row, context, now=now)
    )
    _announce(connection, context, after, "pr.invoice_linked", before=row, extra={"invoiceId": str(invoice_id)})


def unlink_invoice(
    connection: Connection, context: RequestContext, pr_id: uuid.UUID, invoice_id: uuid.UUID, *, now: datetime
) -> None:
    row = _lock(connection, pr_id)
    rules.ensure_allowed("link", row["status"])
    _ensure_may_link(row, context)
    if not repository.unlink_invoice(connection, pr_id, invoice_id):
        raise NotFound("That invoice is not linked to this payment request.")
    after = repository.update_request(
        connection, pr_id, now=now, **_invoices_changed(connection, row, context, now=now)
    )
    _announce(connection, context, after, "pr.invoice_unlinked", before=row, extra={"invoiceId": str(invoice_id)})


# --- helpers ------------------------------------------------------------------------------------


def _lock(connection: Connection, pr_id: uuid.UUID) -> RowMapping:
    row = repository.lock(connection, pr_id)
    if row is None:
        raise NotFound("No payment request with this id.")
    return row


def _ensure_requester(row: RowMapping, context: RequestContext, verb: str) -> None:
    if row["requester_id"] != context.user_id:
        raise Forbidden(f"Only the requester may {verb} this payment request.", code="not_requester")


def _ensure_may_link(row: RowMapping, context: RequestContext) -> None:
    if row["requester_id"] != context.user_id and not context.can("pr.manage"):
        raise Forbidden(
            "Only the requester (or someone with pr.manage) may link or unlink this request's invoices.",
            code="not_requester",
        )


def _ensure_may_define_flows(context: RequestContext) -> None:
    # Otherwise a requester could route their own payment to a friend for approval.
    if pr_settings().inline_flows == "managers" and not context.can("flows.manage"):
        raise Forbidden(
            "Only holders of flows.manage may give a payment request its own approval flow; "
            "choose an approval flow template (approvalFlowTemplateId).",
            code="inline_flow_forbidden",
        )


def _ensure_current_terms(row: RowMapping, read_version: int) -> None:
    rules.ensure_decided_on_current_terms(
        read_version, version=row["version"], material_version=row["material_version"]
    )


def _ensure_completable(connection: Connection, steps: list[dict[str, Any]], *, makers: Collection[object]) -> None:
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


def _terms_changed(connection: Connection, merged: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The values a change of material terms adds: a new fingerprint, the version it happened at,
    and for a request under approval, approval starting over."""
    values: dict[str, Any] = {
        "material_version": merged["version"] + 1,
        "material_hash": rules.material_hash(
            merged["amount"],
            merged["currency"],
            merged["payee"],
            merged["approval_flow"],
            repository.linked_invoice_totals(connection, merged["id"]),
        ),
    }
    if merged["status"] in ("pending", "approved"):
        # Approvers agreed to the old terms: their approvals lapse and approval starts over.
        repository.void_approvals(connection, merged["id"], reason="material change", now=now)
        values.update(_freeze_steps(connection, merged, now=now), status="pending", decided_at=None)
    return values


def _invoices_changed(
    connection: Connection, row: RowMapping, context: RequestContext, *, now: datetime
) -> dict[str, Any]:
    # Whoever changes what is to be paid is its last editor: maker-checker keeps them from approving.
    merged = {**row, "last_editor_id": context.user_id}
    return {"last_editor_id": context.user_id, **_terms_changed(connection, merged, now=now)}


def ensure_approvers_exist(connection: Connection, flow: list[dict[str, Any]]) -> None:
    unknown = repository.unknown_users(connection, (uuid.UUID(str(a)) for step in flow for a in step["approvers"]))
    if unknown:
        raise InvalidInput(
            "Some approvers are not active users.",
            details=[detail("approvalFlow", f"{user} is not an active user", "unknown_approver") for user in unknown],
        )


def _freeze_steps(connection: Connection, row: Any, *, now: datetime) -> dict[str, Any]:
    """Freeze the request's flow, as it applies to its amount, into the steps of a new round."""
    steps = rules.applicable_steps(row["approval_flow"], row["amount"])
    if not steps:
        raise InvalidInput("No step of the approval flow applies to this amount.", code="no_applicable_step")
    # Maker-checker would make a step that counts on its maker impossible to complete; an approver
    # deactivated since the flow was written cannot complete one either.
    _ensure_completable(connection, steps, makers={row["requester_id"], row["last_editor_id"]})
    round_ = row["approval_round"] + 1
    repository.insert_steps(connection, row["id"], round_, steps, rules.needed)
    return {"approval_round": round_, "current_step": 0}


def _my_current_step(connection: Connection, row: RowMapping, context: RequestContext) -> RowMapping:
    step = repository.step(connection, row["id"], row["approval_round"], row["current_step"])
    if context.user_id not in step["approvers"]:
        raise Forbidden("You are not an approver of the current step.", code="not_an_approver")
    assert context.user_id is not None
    if repository.live_decision(connection, step["id"], context.user_id) is not None:
        raise Conflict("You have already decided on this step.", code="already_decided")
    return step


def _first_broken_step(connection: Connection, row: RowMapping, *, from_position: int) -> int | None:
    for step in repository.round_steps(connection, row["id"], row["approval_round"]):
        if step["position"] < from_position or step["completed_at"] is None:
            continue
        if repository.live_approval_count(connection, step["id"]) < step["required"]:
            return int(step["position"])
    return None


PAYMENT_REQUEST = Announced("payment_request", "pr", AUDITED)


def _announce(
    connection: Connection,
    context: RequestContext,
    after: RowMapping,
    action: str,
    *,
    before: Any,
    op: Operation = "updated",
    extra: dict[str, Any] | None = None,
) -> None:
    """The change's audit event and outbox row, from the row as the change left it."""
    announce(
        connection,
        context,
        PAYMENT_REQUEST,
        op,
        action=action,
        entity_id=after["id"],
        before=before,
        after=after,
        extra=extra,
    )


def page_of(
    connection: Connection,
    context: RequestContext,
    *,
    status: str | None,
    requester: uuid.UUID | None,
    awaiting_me: bool,
    text: str | None,
    amount_min: Any,
    amount_max: Any,
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[PaymentRequestSummary], str | None]:
    from payreq.db.schema import payment_requests as pr

    position = decode_newest_first(cursor)
    filters = [
        condition
        for condition in (
            pr.c.status == status if status else None,
            pr.c.requester_id == requester if requester else None,
            repository.awaiting(context.user_id) if awaiting_me and context.user_id else None,
            repository.text_matches(text) if text else None,
            pr.c.amount >= amount_min if amount_min is not None else None,
            pr.c.amount <= amount_max if amount_max is not None else None,
            pr.c.created_at >= created_from if created_from else None,
            pr.c.created_at < created_to if created_to else None,
        )
        if condition is not None
    ]
    rows = repository.page(connection, filters=filters, limit=limit + 1, after=position)
    rows, next_cursor = newest_first_page(rows, limit)
    return summaries(connection, rows), next_cursor
