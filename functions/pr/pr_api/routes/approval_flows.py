"""Approval flow templates."""

from __future__ import annotations

import uuid

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.http import authorize
from payreq.http.resources import Resource, read
from pr_api import repository, templates
from pr_api.models import ApprovalFlowTemplateChanges, ApprovalFlowTemplateView, NewApprovalFlowTemplate

router = APIGatewayHttpRouter()


def show(connection: Connection, template_id: uuid.UUID) -> ApprovalFlowTemplateView:
    return ApprovalFlowTemplateView.model_validate(templates.get(connection, template_id))


READ, MANAGE = authorize("pr.read"), authorize("flows.manage")
TEMPLATES = Resource(
    router, "/api/v1/approval-flows", "template_id", ApprovalFlowTemplateView, show, read=READ, write=MANAGE
)


@TEMPLATES.lists("Approval flow templates, by name")
def list_templates() -> list[ApprovalFlowTemplateView]:
    rows = read(repository.all_templates)
    return [ApprovalFlowTemplateView.model_validate(row) for row in rows]


TEMPLATES.create_route(
    "create", "Create an approval flow template", ("request", NewApprovalFlowTemplate), templates.create
)
TEMPLATES.read_route("get_template", "An approval flow template")
TEMPLATES.change_route("change_template", "Change a template (If-Match)", ApprovalFlowTemplateChanges, templates.change)
