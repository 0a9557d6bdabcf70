"""Scheduled: anchor the audit chain's head outside the database.

The hash chain shows any edit of one event, but someone able to rewrite the whole table could
recompute every hash after their edit. An anchor, the head's `seq` and `hash` written hourly to a
bucket under Object Lock, is a copy they cannot reach: the chain's row at an anchored `seq` must
still carry the anchored hash. One object per anchor, `anchors/<seq, 20 digits>-<hash>.json`, so keys
sort by position and a head that has not moved since the last run writes nothing.

This module is the scheduled entry point, so it opens its units of work itself: one to summarise
refusal counts, a read for the head, and none while S3 is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from audit_api.settings import anchor_settings
from payreq import aws, snapstart
from payreq.audit_anchors import anchor_key
from payreq.audit_chain import ChainHead, canonical_timestamp, chain_head
from payreq.db import get_engine, read_connection, transaction
from payreq.denials import forget_old_windows, summarise_closed_windows
from payreq.observability import instrument, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from sqlalchemy.engine import Engine


@dataclass(frozen=True, slots=True)
class Anchor:
    key: str
    seq: int
    hash: str
    written: bool  # False when this head was anchored already


def anchor_chain_head(engine: Engine, s3: Any, bucket: str, *, now: datetime) -> Anchor | None:
    with read_connection(engine) as connection:
        head = chain_head(connection)
    if head is None:
        return None  # nothing logged yet, nothing to anchor
    return write_anchor(s3, bucket, head, now=now)


def write_anchor(s3: Any, bucket: str, head: ChainHead, *, now: datetime) -> Anchor:
    head_hash = head.hash.hex()
    key = anchor_key(head.seq, head_hash)
    body = {
        "seq": head.seq,
        "hash": head_hash,
        "eventId": str(head.event_id),
        "occurredAt": canonical_timestamp(head.occurred_at),
        "anchoredAt": canonical_timestamp(now),
    }
    try:
        # If-None-Match: an anchor, once written, is never replaced (Object Lock would keep the
        # first version anyway; this keeps the bucket free of duplicates).
        s3.put_object(
            Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json", IfNoneMatch="*"
        )
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"PreconditionFailed", "412"}:
            raise
        return Anchor(key, head.seq, head_hash, written=False)
    return Anchor(key, head.seq, head_hash, written=True)


snapstart.register()


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    engine, now = get_engine(), datetime.now(UTC)
    bucket = anchor_settings().anchor_bucket
    if not bucket:
        raise RuntimeError("AUDIT_ANCHOR_BUCKET is not set: there is nowhere to anchor the chain")
    # Refusal counts of closed windows go into the chain first, so the anchor covers them.
    with transaction(engine) as connection:
        summarised = summarise_closed_windows(connection, now=now)
        forgotten = forget_old_windows(connection, now=now)
    if summarised or forgotten:
        logger.info("refusal windows summarised", extra={"windows": summarised, "forgotten": forgotten})
    anchor = anchor_chain_head(engine, aws.client("s3"), bucket, now=now)
    if anchor is None:
        logger.info("audit log is empty: nothing to anchor")
        return {"anchored": None}
    logger.info("audit chain head anchored", extra={"key": anchor.key, "written": anchor.written})
    return {"anchored": anchor.key, "seq": anchor.seq, "hash": anchor.hash, "written": anchor.written}
