"""Approval delegations: an approver hands their approval rights to another approver for a while
(create, read, list, revoke). How a delegate decides with them is in `flows._principal`.

Revoking ends the delegation from now on; decisions already made through it stay (they were
allowed when made, and withdrawing them is the approvers' own act, `unapprove`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from payreq.announce import Announced, announce
from payreq.errors import Forbidden, InvalidInput, NotFound, detail
from payreq.http.pagination import decode_newest_first
from payreq.money import format_amount
from pr_api import repository
from pr_api.models import MAX_DELEGATION_DAYS, DelegationView, UserRef
from pr_api.records import NewDelegationRow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext
    from payreq.errors import ErrorDetail
    from pr_api.models import NewDelegation
    from pr_api.records import DelegationRecord, ListedDelegation

DELEGATION = Announced(
    "delegation",
    "delegation",
    (
        "delegator_id",
        "delegate_id",
        "starts_at",
        "ends_at",
        "flow_template_ids",
        "amount_limit",
        "limit_currency",
        "reason",
        "revoked_at",
        "revoked_by",
        "version",
    ),
)
# Who sees every delegation, and may revoke anyone's.
ADMIN = "users.admin"


def create(connection: Connection, context: RequestContext, request: NewDelegation, *, now: datetime) -> uuid.UUID:
    """The caller (an approver) delegates to another active approver."""
    assert context.user_id is not None
    starts_at = request.starts_at or now
    problems = _range_problems(starts_at, request.ends_at, now=now)
    if request.delegate_id == context.user_id:
        problems.append(detail("delegateId", "you cannot delegate to yourself", "invalid_delegate"))
    elif not repository.holds_permission(connection, request.delegate_id, "pr.approve"):
        problems.append(detail("delegateId", "not an active user who may approve (pr.approve)", "invalid_delegate"))
    for template_id in request.flow_template_ids or ():
        if repository.template(connection, template_id) is None:
            problems.append(detail("flowTemplateIds", f"no approval flow template {template_id}", "not_found"))
    if problems:
        raise InvalidInput("The delegation cannot be made as asked.", details=problems)
    new = NewDelegationRow(
        id=uuid.uuid4(),
        delegator_id=context.user_id,
        delegate_id=request.delegate_id,
        starts_at=starts_at,
        ends_at=request.ends_at,
        flow_template_ids=request.flow_template_ids,
        amount_limit=request.amount_limit,
        limit_currency=request.limit_currency,
        reason=request.reason,
        created_at=now,
        created_by=context.user_id,
    )
    created = repository.insert_delegation(connection, new)
    _announce(connection, context, "delegation.created", before=None, after=created, op="created")
    return created.id


def _range_problems(starts_at: datetime, ends_at: datetime, *, now: datetime) -> list[ErrorDetail]:
    if ends_at <= starts_at:
        return [detail("endsAt", "endsAt must be after startsAt", "invalid_range")]
    if ends_at <= now:
        return [detail("endsAt", "the delegation would be over already", "invalid_range")]
    if ends_at - starts_at > timedelta(days=MAX_DELEGATION_DAYS):
        return [detail("endsAt", f"a delegation lasts at most {MAX_DELEGATION_DAYS} days", "invalid_range")]
    return []


def view(connection: Connection, context: RequestContext, delegation_id: uuid.UUID, *, now: datetime) -> DelegationView:
    """The delegation, for its two people and administrators (404 for anyone else: its existence is theirs)."""
    delegation = repository.delegation(connection, delegation_id)
    if delegation is None or not _may_see(context, delegation):
        raise NotFound("No delegation with this id.")
    return view_of(delegation, now=now)


def page_of(
    connection: Connection, context: RequestContext, *, limit: int, cursor: str | None, now: datetime
) -> tuple[list[DelegationView], str | None]:
    """Those the caller gave or received, newest first; every one for an administrator."""
    involving = None if context.can(ADMIN) else context.user_id
    delegations, next_cursor = repository.delegation_page(
        connection, involving=involving, limit=limit, after=decode_newest_first(cursor)
    )
    return [view_of(delegation, now=now) for delegation in delegations], next_cursor


def revoke(connection: Connection, context: RequestContext, delegation_id: uuid.UUID, *, now: datetime) -> None:
    """The delegator (or an administrator) ends the delegation now. Revoking one already revoked
    changes nothing."""
    assert context.user_id is not None
    row = repository.lock_delegation(connection, delegation_id)
    if row is None or not _may_see(context, row):
        raise NotFound("No delegation with this id.")
    if row.delegator_id != context.user_id and not context.can(ADMIN):
        raise Forbidden("Only the delegator (or a users.admin) may revoke a delegation.", code="not_delegator")
    if row.revoked_at is not None:
        return
    after = repository.revoke_delegation(connection, delegation_id, by=context.user_id, now=now)
    _announce(connection, context, "delegation.revoked", before=row, after=after, op="updated")


def view_of(delegation: ListedDelegation, *, now: datetime) -> DelegationView:
    return DelegationView(
        id=delegation.id,
        delegator=UserRef(id=delegation.delegator_id, display_name=delegation.delegator_name),
        delegate=UserRef(id=delegation.delegate_id, display_name=delegation.delegate_name),
        starts_at=delegation.starts_at,
        ends_at=delegation.ends_at,
        flow_template_ids=delegation.flow_template_ids,
        amount_limit=(
            format_amount(delegation.amount_limit, delegation.limit_currency)
            if delegation.amount_limit is not None and delegation.limit_currency is not None
            else None
        ),
        limit_currency=delegation.limit_currency,
        reason=delegation.reason,
        status=_status(delegation, now=now),
        created_at=delegation.created_at,
        created_by=delegation.created_by,
        revoked_at=delegation.revoked_at,
        revoked_by=delegation.revoked_by,
        version=delegation.version,
    )


def _status(delegation: DelegationRecord, *, now: datetime) -> Literal["scheduled", "active", "ended", "revoked"]:
    if delegation.revoked_at is not None:
        return "revoked"
    if now < delegation.starts_at:
        return "scheduled"
    return "active" if now < delegation.ends_at else "ended"


def _may_see(context: RequestContext, delegation: DelegationRecord) -> bool:
    return context.user_id in (delegation.delegator_id, delegation.delegate_id) or context.can(ADMIN)


def _announce(
    connection: Connection,
    context: RequestContext,
    action: str,
    *,
    before: DelegationRecord | None,
    after: DelegationRecord,
    op: Literal["created", "updated"],
) -> None:
    announce(connection, context, DELEGATION, op, action=action, entity_id=after.id, before=before, after=after)
