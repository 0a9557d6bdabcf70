"""The audit chain against its anchors: heads (`seq`, `hash`) written to S3 out of the database's reach.

The hash chain shows an edit of any event but the newest ones. Whoever can delete rows can delete
the tail, and whoever can rewrite the table can recompute every hash after an edit: the chain
then verifies. An anchor is the copy they cannot reach, so the verification compares the chain with
the latest one:

- `truncated`: the anchor names a position the chain no longer reaches (the tail was deleted);
- `rewritten`: the chain's event at that position has another hash (the tail was recomputed);
- `matches`: the chain still holds the anchored head; `unanchored`: nothing to compare with yet;
- `unavailable`: the anchors could not be read, so the tail is unchecked (never reported intact).

Keys are `anchors/<seq, 20 digits>-<hash hex>.json`, so the key alone says what was anchored and
keys sort by position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from payreq.db.schema import audit_events
from payreq.observability import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

ANCHOR_PREFIX = "anchors/"
_ANCHOR_KEY = re.compile(r"^anchors/(\d{20})-([0-9a-f]{64})\.json$")

AnchorStatus = Literal["matches", "truncated", "rewritten", "unanchored", "unavailable"]


def anchor_key(seq: int, head_hash: str) -> str:
    return f"{ANCHOR_PREFIX}{seq:020d}-{head_hash}.json"


@dataclass(frozen=True, slots=True)
class AnchoredHead:
    key: str
    seq: int
    hash: str  # hex

    @classmethod
    def from_key(cls, key: str) -> AnchoredHead | None:
        match = _ANCHOR_KEY.match(key)
        return cls(key, int(match.group(1)), match.group(2)) if match else None


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    status: AnchorStatus
    anchor: AnchoredHead | None
    chain_hash: str | None = None  # the chain's hash at the anchored seq, when it has one

    @property
    def consistent(self) -> bool:
        return self.status in ("matches", "unanchored")

    def describe(self) -> str:
        anchor = self.anchor
        if anchor is None:
            return {
                "unavailable": "the anchors could not be read: the chain's tail is unchecked",
            }.get(self.status, "no anchor yet: the chain's tail is unchecked")
        return {
            "matches": f"matches the latest anchor (seq {anchor.seq})",
            "truncated": f"truncated: the latest anchor is at seq {anchor.seq}, which the chain no longer holds",
            "rewritten": (
                f"rewritten: the event at seq {anchor.seq} has hash {self.chain_hash}, the anchor says {anchor.hash}"
            ),
        }.get(self.status, self.status)


def latest_anchor(s3: Any, bucket: str) -> AnchoredHead | None:
    """The anchor of the furthest position, from the keys alone (listing only: no object is read)."""
    latest: AnchoredHead | None = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ANCHOR_PREFIX):
        for item in page.get("Contents", []):
            anchor = AnchoredHead.from_key(item["Key"])
            if anchor is not None and (latest is None or anchor.seq > latest.seq):
                latest = anchor
    return latest


def check_against_anchor(connection: Connection, s3: Any, bucket: str | None) -> AnchorCheck:
    if not bucket:
        return AnchorCheck("unanchored", None)
    try:
        anchor = latest_anchor(s3, bucket)
    except Exception:
        logger.exception("audit anchors could not be listed", extra={"bucket": bucket})
        return AnchorCheck("unavailable", None)
    if anchor is None:
        return AnchorCheck("unanchored", None)
    stored = connection.scalar(select(audit_events.c.hash).where(audit_events.c.seq == anchor.seq))
    if stored is None:
        return AnchorCheck("truncated", anchor)
    chain_hash = bytes(stored).hex()
    return AnchorCheck("matches" if chain_hash == anchor.hash else "rewritten", anchor, chain_hash)
