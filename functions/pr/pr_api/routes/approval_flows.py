"""Approval flow templates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey
from payreq.http.resources import Resource, read
from payreq.http.versioning import IfMatch
from pr_api import repository, templates
from pr_api.models import ApprovalFlowTemplateChanges, ApprovalFlowTemplateView, NewApprovalFlowTemplate

router = APIGatewayHttpRouter()


def show(connection: Connection, template_id: uuid.UUID) -> ApprovalFlowTemplateView:
    return ApprovalFlowTemplateView.model_validate(templates.get(connection, template_id))


TEMPLATES = Resource(
    router,
    "/api/v1/approval-flows",
    "template_id",
    ApprovalFlowTemplateView,
    show,
    read=authorize("pr.read"),
    write=authorize("flows.manage"),
)


@TEMPLATES.lists("Approval flow templates, by name")
def list_templates() -> list[ApprovalFlowTemplateView]:
    rows = read(repository.all_templates)
    return [ApprovalFlowTemplateView.model_validate(row) for row in rows]


@TEMPLATES.creates("Create an approval flow template")
def create(request: NewApprovalFlowTemplate, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return TEMPLATES.create(
        lambda connection, context: templates.create(connection, context, request, now=datetime.now(UTC))
    )


@TEMPLATES.reads("An approval flow template")
def get_template(template_id: uuid.UUID) -> Response[Any]:
    return TEMPLATES.get(template_id)


@TEMPLATES.changes("Change a template (If-Match)")
def change_template(
    template_id: uuid.UUID,
    changes: ApprovalFlowTemplateChanges,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    return TEMPLATES.change_read_version(
        template_id,
        lambda connection, context, version: templates.change(
            connection, context, template_id, changes, version=version, now=datetime.now(UTC)
        ),
    )
