"""Approval flow templates: named flows a payment request can copy when it is created.

A template's changes are audited but not broadcast (no outbox row): no page follows templates
live, so they are recorded with `record_change` alone, not announced."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from payreq.audit import record_change
from payreq.errors import Conflict, ensure_version, must_exist
from pr_api import repository
from pr_api.flows import ensure_approvers_exist
from pr_api.records import NewTemplateRow, TemplateUpdate

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext
    from pr_api.models import ApprovalFlowTemplateChanges, NewApprovalFlowTemplate
    from pr_api.records import TemplateRecord


def get(connection: Connection, template_id: uuid.UUID) -> TemplateRecord:
    return must_exist(repository.template(connection, template_id), "No approval flow template with this id.")


def create(
    connection: Connection, context: RequestContext, request: NewApprovalFlowTemplate, *, now: datetime
) -> uuid.UUID:
    steps = [step.model_dump(mode="json") for step in request.steps]
    ensure_approvers_exist(connection, steps)
    new = NewTemplateRow(
        id=uuid.uuid4(),
        name=request.name,
        description=request.description,
        steps=steps,
        created_by=context.user_id,
        created_at=now,
    )
    if not repository.insert_template(connection, new):
        raise _name_taken()
    record_change(
        connection,
        context,
        action="approval_flow.created",
        entity_type="approval_flow",
        entity_id=new.id,
        after={"name": new.name, "description": new.description, "steps": new.steps},
    )
    return new.id


def change(
    connection: Connection,
    context: RequestContext,
    template_id: uuid.UUID,
    changes: ApprovalFlowTemplateChanges,
    *,
    version: int,
    now: datetime,
) -> None:
    before = must_exist(
        repository.template(connection, template_id, for_update=True), "No approval flow template with this id."
    )
    ensure_version(before.version, version, "The template changed since you read it; reload and edit again.")
    update = _update_of(connection, changes)
    # Requests copied the steps when they were made: changing the template never reaches them.
    if not repository.update_template(connection, template_id, update, now=now):
        raise _name_taken()
    record_change(
        connection,
        context,
        action="approval_flow.changed",
        entity_type="approval_flow",
        entity_id=template_id,
        before={key: getattr(before, key) for key in update},
        after={**update, "version": before.version + 1},
    )


def _update_of(connection: Connection, changes: ApprovalFlowTemplateChanges) -> TemplateUpdate:
    """The columns a change sets: those the request named (even to null), the steps as JSON."""
    given = changes.model_fields_set
    update = TemplateUpdate()
    if "name" in given:
        update["name"] = changes.name
    if "description" in given:
        update["description"] = changes.description
    if changes.steps is not None:
        update["steps"] = [step.model_dump(mode="json") for step in changes.steps]
        ensure_approvers_exist(connection, update["steps"])
    return update


def _name_taken() -> Conflict:
    return Conflict("An approval flow template with this name exists.", code="duplicate_name")
