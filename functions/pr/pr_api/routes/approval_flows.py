"""Approval flow templates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.db import get_engine, read_connection
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.responses import created, json_response, ok
from payreq.http.versioning import IfMatch, etag, expected_version
from pr_api import repository, templates
from pr_api.models import ApprovalFlowTemplateChanges, ApprovalFlowTemplateView, NewApprovalFlowTemplate

router = APIGatewayHttpRouter()
READ, MANAGE = authorize("pr.read"), authorize("flows.manage")


def respond(connection: Connection, template_id: uuid.UUID, status: int = HTTPStatus.OK) -> Response[Any]:
    template = ApprovalFlowTemplateView.model_validate(templates.get(connection, template_id))
    headers = {"ETag": etag(template.version)}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/approval-flows/{template_id}"
    return json_response(status, template, headers=headers)


@router.get("/api/v1/approval-flows", summary="Approval flow templates, by name", middlewares=[READ])
def list_templates() -> list[ApprovalFlowTemplateView]:
    with read_connection(get_engine()) as connection:
        return [ApprovalFlowTemplateView.model_validate(row) for row in repository.all_templates(connection)]


@router.post(
    "/api/v1/approval-flows",
    summary="Create an approval flow template",
    responses=created(ApprovalFlowTemplateView),
    middlewares=[MANAGE],
)
def create(request: NewApprovalFlowTemplate, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: templates.create(connection, context, request, now=datetime.now(UTC)),
        lambda connection, template_id: respond(connection, template_id, HTTPStatus.CREATED),
    )


@router.get(
    "/api/v1/approval-flows/<template_id>",
    responses=ok(ApprovalFlowTemplateView),
    summary="An approval flow template",
    middlewares=[READ],
)
def get_template(template_id: uuid.UUID) -> Response[Any]:
    with read_connection(get_engine()) as connection:
        return respond(connection, template_id)


@router.patch(
    "/api/v1/approval-flows/<template_id>",
    responses=ok(ApprovalFlowTemplateView),
    summary="Change a template (If-Match)",
    middlewares=[MANAGE],
)
def change_template(
    template_id: uuid.UUID,
    changes: ApprovalFlowTemplateChanges,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Any]:
    version = expected_version(router)
    return change_and_respond(
        router,
        lambda connection, context: templates.change(
            connection, context, template_id, changes, version=version, now=datetime.now(UTC)
        ),
        lambda connection, _: respond(connection, template_id),
    )
