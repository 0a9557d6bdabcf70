"""Presigned S3 URLs for attachments: uploads go straight from the browser to the bucket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from payreq import aws

if TYPE_CHECKING:
    from invoice_api.settings import AttachmentSettings


def upload_form(
    settings: AttachmentSettings, key: str, content_type: str, *, max_bytes: int, now: datetime
) -> dict[str, Any]:
    """A presigned POST that accepts only this key, this content type and 1..max_bytes bytes."""
    post = aws.client("s3").generate_presigned_post(
        Bucket=settings.attachments_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=settings.upload_url_seconds,
    )
    return {
        "url": post["url"],
        "fields": dict(post["fields"]),
        "max_bytes": max_bytes,
        "expires_at": now + timedelta(seconds=settings.upload_url_seconds),
    }


def download_url(
    settings: AttachmentSettings, bucket: str, key: str, file_name: str, version_id: str, *, now: datetime
) -> tuple[str, datetime]:
    """A presigned GET of exactly the recorded version: whatever was put under the key later is not it."""
    params = {
        "Bucket": bucket,
        "Key": key,
        "VersionId": version_id,
        "ResponseContentDisposition": f'attachment; filename="{file_name}"',
    }
    url = aws.client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=settings.download_url_seconds)
    return str(url), now + timedelta(seconds=settings.download_url_seconds)
