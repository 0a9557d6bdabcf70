"""Entry point for S3 `ObjectCreated` under `uploads/`: the invoice attachment parser.

The template's prefix filter means the parser's own writes can never trigger it. Each event names
the object version it is about (the bucket is versioned); the parser reads that version, or the
current one when an event names none. An attachment takes one version, once: the same version
again (a repeated or late event) makes no second result, and any other version (the upload form
posted again, or a first file arriving after the invoice was verified) is refused unread and
recorded as a security event (`flows.record_upload`).

A file that cannot be parsed is a result (`parse_failed` with a reason a person can read), and the
handler returns normally: no retries for it. Anything unexpected (the database, S3) raises, so
Lambda retries and then parks the event on the template's OnFailure queue.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source

from invoice_api import flows, repository, rules, uploads
from invoice_api.records import UploadedVersion
from invoice_api.settings import attachment_settings, parser_settings
from payreq import aws, snapstart
from payreq.context import RequestContext
from payreq.db import get_engine, read_connection, transaction
from payreq.observability import instrument, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from sqlalchemy.engine import Engine

    from invoice_api.reading.records import Reading
    from invoice_api.records import Attachment
    from invoice_api.uploads import ParseOutcome

GONE = ("404", "NoSuchKey", "NoSuchVersion", "NotFound")


def handle(bucket: str, key: str, request_id: str, version_id: str | None = None) -> str:
    """Process one uploaded object version; what happened, in a word (for the log and the tests)."""
    attachment_id = uploads.attachment_id_in(key)
    if attachment_id is None:
        logger.warning("upload outside the attachment layout ignored", extra={"key": key})
        return "ignored"
    engine = get_engine()
    with read_connection(engine) as connection:
        attachment = repository.attachment(connection, attachment_id)
        if attachment is None or not uploads.is_upload_of(attachment, bucket, key):
            logger.warning("upload for no known attachment ignored", extra={"key": key})
            return "ignored"
        invoice_status = repository.status_of(connection, attachment.invoice_id)
    s3 = aws.client("s3")
    context = RequestContext(request_id=request_id, auth_method="system")
    try:
        head = s3.head_object(Bucket=bucket, Key=key, **_pinned(version_id))
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in GONE:
            raise
        with transaction(engine) as connection:
            missing = flows.record_missing_upload(connection, context, attachment_id, now=datetime.now(UTC))
        logger.info("uploaded object gone before it was read", extra={"key": key, "recorded": missing})
        return "parse_failed" if missing else "ignored"
    etag, size = head["ETag"].strip('"'), int(head["ContentLength"])
    version_id = uploads.pinned_version(head.get("VersionId"))
    if not rules.takes_file(invoice_status, attachment.uploaded_at):
        # The file on record again, or one refused: either way there is nothing to read.
        with transaction(engine) as connection:
            return flows.record_unread_upload(connection, context, attachment_id, etag=etag, version_id=version_id)
    sha256, outcome, failure = _read(s3, attachment, version_id, size)
    uploaded = UploadedVersion(etag, version_id, size, sha256, uploaded_at=datetime.now(UTC))
    return _record(engine, context, attachment, uploaded, outcome, failure)


def _read(
    s3: S3Client, attachment: Attachment, version_id: str | None, size: int
) -> tuple[bytes | None, ParseOutcome | None, str | None]:
    """The file's SHA-256, what parsing found in it, and why it was not read or parsed: whichever apply."""
    limit = attachment_settings().max_upload_bytes
    failure = uploads.size_problem(size, limit)
    if failure is not None:
        return None, None, failure
    pinned = _pinned(version_id)
    data = s3.get_object(Bucket=attachment.bucket, Key=attachment.object_key, **pinned)["Body"].read(limit + 1)
    sha256 = hashlib.sha256(data).digest()
    failure = uploads.content_problem(attachment.content_type, data)
    if failure is not None or not uploads.is_parsed(attachment.content_type):
        return sha256, None, failure
    outcome, failure = parse_pdf(data)
    return sha256, outcome, failure


def _record(
    engine: Engine,
    context: RequestContext,
    attachment: Attachment,
    uploaded: UploadedVersion,
    outcome: ParseOutcome | None,
    failure: str | None,
) -> str:
    with transaction(engine) as connection:
        recorded = flows.record_upload(connection, context, attachment.id, uploaded, outcome=outcome, failure=failure)
    if recorded == "recorded" and failure:
        logger.info("attachment not parsed", extra={"key": attachment.object_key, "reason": failure})
    return uploads.result(recorded, failure, outcome)


def _pinned(version_id: str | None) -> dict[str, Any]:
    return {"VersionId": version_id} if version_id else {}


def parse_pdf(data: bytes) -> tuple[ParseOutcome | None, str | None]:
    """(what was found, None) or (None, why not). Reading the text and interpreting it both run in
    the bounded child: no file can keep this function busy past the reader's deadline."""
    from invoice_api import pdftext
    from invoice_api.reading import invoice

    invoice.prepare()
    try:
        reading = pdftext.read(data, invoice.read)
    except pdftext.InterpretationFailed as error:
        logger.error("the parser failed on a file's text", extra={"traceback": error.detail})
        return None, str(error)
    except pdftext.ExtractionFailed as error:
        return None, str(error)
    scan = reading.scan
    if scan is not None:
        if not parser_settings().textract:
            return None, scan
        from invoice_api import textract

        try:
            reading = textract.analyze(data)
        except textract.NotRead as error:
            return None, f"{scan.rsplit(';', 1)[0]}; Textract could not read it either ({error})."
    if not reading.fields and not reading.items:
        return None, "No invoice number, dates, amounts or line items were found in the PDF."
    return outcome(reading), None


def outcome(reading: Reading) -> ParseOutcome:
    """What parsing found, as the flows record it (and the API shows it)."""
    return {
        "document_type": reading.document_type,
        "fields": {
            name: {
                "value": found.value,
                "confidence": found.confidence,
                "page": found.page,
                "line": found.line,
                "evidence": list(found.evidence),
            }
            for name, found in reading.fields.items()
        },
        "items": [
            {
                "description": item.description[:1000],
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "amount": item.amount,
            }
            for item in reading.items
            if 0 < item.quantity < Decimal("1e14")
        ],
        "items_confidence": reading.items_confidence,
        "item_confidences": [item.confidence for item in reading.items if 0 < item.quantity < Decimal("1e14")],
        "taxes": [
            {"rate": None if tax.rate is None else str(tax.rate), "amount": str(tax.amount)} for tax in reading.taxes
        ],
        "review_reasons": list(reading.review_reasons),
    }


@event_source(data_class=S3Event)
def _records(event: S3Event, context: LambdaContext) -> list[str]:
    received = []
    for record in event.records:
        # S3 URL-encodes keys in events (spaces arrive as '+').
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.get_object.key)
        version_id = record.s3.get_object.version_id
        result = handle(bucket, key, context.aws_request_id, version_id)
        logger.info(
            "attachment processed", extra={"bucket": bucket, "key": key, "versionId": version_id, "result": result}
        )
        received.append(key)
    return received


snapstart.register()


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The keys received; what became of each is in the log and on the invoice."""
    return {"received": _records(event, context)}
