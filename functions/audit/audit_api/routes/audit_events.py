"""The audit log: filtered pages, exports of a time range, and the hash chain's verification."""

from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from audit_api import export, integrity
from audit_api.models import AuditEvent, ChainVerification, ExportFormat
from audit_api.repository import EventFilter
from audit_api.routes.event_pages import OccurredFrom, OccurredTo, events_page
from audit_api.settings import anchor_settings
from payreq import aws
from payreq.db import get_engine, read_connection, transaction
from payreq.http import authorize, request_context
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page

router = APIGatewayHttpRouter()
AUDIT_READ = authorize("audit.read")


@router.get("/api/v1/audit-events", summary="Audit events, newest first", middlewares=[AUDIT_READ])
def list_audit_events(
    entity_type: Annotated[str | None, Query(alias="entityType")] = None,
    entity_id: Annotated[str | None, Query(alias="entityId")] = None,
    actor: uuid.UUID | None = None,
    action: str | None = None,
    request_id: Annotated[str | None, Query(alias="requestId")] = None,
    occurred_from: OccurredFrom = None,
    occurred_to: OccurredTo = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AuditEvent]:
    where = EventFilter(
        entity_type=entity_type, entity_id=entity_id, actor_id=actor, action=action, request_id=request_id
    )
    occurred = (occurred_from, occurred_to)
    return events_page(Page[AuditEvent], AuditEvent.from_record, where, occurred, limit=limit, cursor=cursor)


@router.get(
    "/api/v1/audit-events/export",
    summary="Export a time range of the audit log as CSV or JSON Lines (at most 10,000 events)",
    responses={
        200: {
            "description": "The events, oldest first, as a file to save",
            "content": {kind.split(";")[0]: {"schema": {"type": "string"}} for kind in export.CONTENT_TYPES.values()},
        }
    },
    middlewares=[AUDIT_READ],
    compress=True,
)
def export_audit_events(
    occurred_from: Annotated[AwareDatetime, Query(alias="from", description="inclusive")],
    occurred_to: Annotated[AwareDatetime, Query(alias="to", description="exclusive")],
    fmt: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response[str]:
    engine = get_engine()
    with read_connection(engine) as connection:
        exported = export.export_events(connection, occurred_from=occurred_from, occurred_to=occurred_to, fmt=fmt)
    # A unit of work of its own, and no change_and_respond: this is a read (an Idempotency-Key would
    # store a whole export), and the chain's lock is taken only once the export is ready.
    with transaction(engine) as connection:
        export.record_export(connection, request_context(router), exported)
    headers = {
        "Content-Disposition": f'attachment; filename="{exported.file_name}"',
        "Cache-Control": "no-store",
    }
    return Response(200, content_type=exported.content_type, body=exported.body, headers=headers)


@router.get(
    "/api/v1/audit-events/verify",
    summary="Walk the hash chain from the first event, report the first broken link, and compare the head "
    "with the latest S3 anchor (a truncated or rewritten tail)",
    middlewares=[AUDIT_READ],
)
def verify_audit_chain() -> ChainVerification:
    with read_connection(get_engine()) as connection:
        verification = integrity.verify(connection, aws.client("s3"), anchor_settings().anchor_bucket)
    return ChainVerification.from_verification(verification)
