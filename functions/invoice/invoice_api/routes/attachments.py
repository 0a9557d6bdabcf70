"""Attachments: presigned uploads (to an invoice, or creating one from a file) and downloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from invoice_api import flows, storage
from invoice_api.models import AttachmentRequest, AttachmentView, DownloadLink, NewUpload, PresignedPost, UploadGrant
from invoice_api.settings import attachment_settings
from payreq.db import get_engine, read_connection
from payreq.http import authorize
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.responses import created, json_response

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from invoice_api.records import Attachment
    from payreq.context import RequestContext

router = APIGatewayHttpRouter()
READ, WRITE = authorize("invoice.read"), authorize("invoice.write")


def _grant(attachment: Attachment, request: AttachmentRequest, now: datetime) -> tuple[AttachmentView, PresignedPost]:
    settings = attachment_settings()
    max_bytes = min(request.content_length or settings.max_upload_bytes, settings.max_upload_bytes)
    form = storage.upload_form(settings, attachment.object_key, request.content_type, max_bytes=max_bytes, now=now)
    return flows.attachment_view(attachment), PresignedPost.model_validate(form)


@router.post(
    "/api/v1/invoices/<invoice_id>/attachments",
    summary="Add an attachment: a presigned POST the browser uploads the file with",
    responses=created(UploadGrant),
    middlewares=[WRITE],
)
def add_attachment(
    invoice_id: uuid.UUID, request: AttachmentRequest, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    now = datetime.now(UTC)
    bucket = attachment_settings().attachments_bucket

    def respond(_: Connection, attachment: Attachment) -> Response[Any]:
        view, upload = _grant(attachment, request, now)
        headers = {"Location": f"/api/v1/invoices/{invoice_id}/attachments/{attachment.id}"}
        return json_response(HTTPStatus.CREATED, UploadGrant(attachment=view, upload=upload), headers=headers)

    return change_and_respond(
        router,
        lambda connection, context: flows.add_attachment(
            connection, context, invoice_id, request, bucket=bucket, now=now
        ),
        respond,
    )


@router.post(
    "/api/v1/invoices/uploads",
    summary="Create an invoice from a file: the invoice, and a presigned POST for the file",
    responses=created(NewUpload),
    middlewares=[WRITE],
)
def upload(request: AttachmentRequest, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    now = datetime.now(UTC)
    bucket = attachment_settings().attachments_bucket

    def act(connection: Connection, context: RequestContext) -> Attachment:
        invoice_id = flows.create(connection, context, None, now=now)
        return flows.add_attachment(connection, context, invoice_id, request, bucket=bucket, now=now)

    def respond(connection: Connection, attachment: Attachment) -> Response[Any]:
        view, upload = _grant(attachment, request, now)
        body = NewUpload(invoice=flows.view(connection, attachment.invoice_id), attachment=view, upload=upload)
        headers = {"Location": f"/api/v1/invoices/{attachment.invoice_id}"}
        return json_response(HTTPStatus.CREATED, body, headers=headers)

    return change_and_respond(router, act, respond)


@router.get(
    "/api/v1/invoices/<invoice_id>/attachments/<attachment_id>",
    summary="An attachment with a short-lived download URL",
    middlewares=[READ],
)
def download(invoice_id: uuid.UUID, attachment_id: uuid.UUID) -> DownloadLink:
    with read_connection(get_engine()) as connection:
        attachment = flows.attachment_of(connection, invoice_id, attachment_id)
    now = datetime.now(UTC)
    name = attachment.object_key.rsplit("/", 1)[-1]
    assert attachment.version_id is not None, "flows.attachment_of answers only a recorded version"
    url, expires_at = storage.download_url(
        attachment_settings(), attachment.bucket, attachment.object_key, name, attachment.version_id, now=now
    )
    return DownloadLink(attachment=flows.attachment_view(attachment), url=url, expires_at=expires_at)
