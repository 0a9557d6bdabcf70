"""Approval flow templates: named flows a payment request can copy when it is created."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from payreq.audit import record_change
from payreq.db.schema import approval_flow_templates as templates
from payreq.errors import Conflict, NotFound, PreconditionFailed, stale_version
from pr_api.flows import ensure_approvers_exist

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection, RowMapping

    from payreq.context import RequestContext
    from pr_api.models import ApprovalFlowTemplateChanges, NewApprovalFlowTemplate


def all_templates(connection: Connection) -> list[RowMapping]:
    return list(connection.execute(select(templates).order_by(func.lower(templates.c.name))).mappings())


def get(connection: Connection, template_id: uuid.UUID) -> RowMapping:
    row = connection.execute(select(templates).where(templates.c.id == template_id)).mappings().one_or_none()
    if row is None:
        raise NotFound("No approval flow template with this id.")
    return row


def create(
    connection: Connection, context: RequestContext, request: NewApprovalFlowTemplate, *, now: datetime
) -> uuid.UUID:
    steps = [step.model_dump(mode="json") for step in request.steps]
    ensure_approvers_exist(connection, steps)
    template_id = uuid.uuid4()
    values: dict[str, Any] = {"name": request.name, "description": request.description, "steps": steps}
    _unique_name(
        connection,
        insert(templates).values(id=template_id, created_by=context.user_id, created_at=now, updated_at=now, **values),
    )
    record_change(
        connection,
        context,
        action="approval_flow.created",
        entity_type="approval_flow",
        entity_id=template_id,
        after=values,
    )
    return template_id


def change(
    connection: Connection,
    context: RequestContext,
    template_id: uuid.UUID,
    changes: ApprovalFlowTemplateChanges,
    *,
    version: int,
    now: datetime,
) -> None:
    before = (
        connection.execute(select(templates).where(templates.c.id == template_id).with_for_update())
        .mappings()
        .one_or_none()
    )
    if before is None:
        raise NotFound("No approval flow template with this id.")
    if before["version"] != version:
        raise PreconditionFailed(
            "The template changed since you read it; reload and edit again.",
            details=[stale_version(before["version"])],
        )
    values: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"steps"})
    if changes.steps is not None:
        values["steps"] = [step.model_dump(mode="json") for step in changes.steps]
        ensure_approvers_exist(connection, values["steps"])
    # Requests copied the steps when they were made: changing the template never reaches them.
    _unique_name(
        connection,
        update(templates)
        .where(templates.c.id == template_id)
        .values(**values, updated_at=now, version=templates.c.version + 1),
    )
    record_change(
        connection,
        context,
        action="approval_flow.changed",
        entity_type="approval_flow",
        entity_id=template_id,
        before={key: before[key] for key in values},
        after={**values, "version": before["version"] + 1},
    )


def _unique_name(connection: Connection, statement: Any) -> None:
    savepoint = connection.begin_nested()
    try:
        connection.execute(statement)
    except IntegrityError as error:
        savepoint.rollback()
        raise Conflict("An approval flow template with this name exists.", code="duplicate_name") from error
    savepoint.commit()
