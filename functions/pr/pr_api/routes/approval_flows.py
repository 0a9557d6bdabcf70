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
from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey, run_change
from payreq.http.responses import created, json_response, ok
from payreq.http.versioning import IfMatch, etag, expected_version
from pr_api import templates
from pr_api.models import ApprovalFlowTemplateChanges, ApprovalFlowTemplateView, NewApprovalFlowTemplate

router = APIGatewayHttpRouter()
READ, MANAGE = authorize("pr.read"), authorize("flows.manage")


def respond(connection: Connection, template_id: uuid.UUID, status: int = HTTPStatus.OK) -> Response[Any]:
    template = ApprovalFlowTemplateView.model_validate(dict(templates.get(connection, template_id)))
    headers = {"ETag": etag(template.version)}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/approval-flows/{template_id}"
    return json_response(status, template, headers=headers)


@router.get("/api/v1/approval-flows", summary="Approval flow templates, by name", middlewares=[READ])
def list_templates() -> list[ApprovalFlowTemplateView]:
    with read_connection(get_engine()) as connection:
        return [ApprovalFlowTemplateView.model_validate(dict(row)) for row in templates.all_templates(connection)]


@router.post(
    "/api/v1/approval-flows",
    summary="Create an approval flow template",
    responses=created(ApprovalFlowTemplateView),
    middlewares=[MANAGE],
)
def create(request: NewApprovalFlowTemplate, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    context = request_context(router)

    def change(connection: Connection) -> Response[Any]:
        template_id = templates.create(connection, context, request, now=datetime.now(UTC))
        return respond(connection, template_id, HTTPStatus.CREATED)

    return run_change(router, get_engine(), change)


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
    context, version = request_context(router), expected_version(router)

    def change(connection: Connection) -> Response[Any]:
        templates.change(connection, context, template_id, changes, version=version, now=datetime.now(UTC))
        return respond(connection, template_id)

    return run_change(router, get_engine(), change)
