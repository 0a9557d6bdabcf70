"""Entry point for S3 `ObjectCreated` under `uploads/`: the invoice attachment parser.

The template's prefix filter means the parser's own writes can never trigger it. Parsing itself
(pypdf, fields, line items) is not built yet; for now each upload is acknowledged and logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source

from payreq.observability import instrument, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@instrument()
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    received = []
    for record in event.records:
        # S3 URL-encodes keys in events (spaces arrive as '+').
        key = unquote_plus(record.s3.get_object.key)
        logger.info("attachment uploaded", extra={"bucket": record.s3.bucket.name, "key": key})
        received.append(key)
    return {"received": received}
