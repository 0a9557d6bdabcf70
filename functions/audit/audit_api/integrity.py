"""Checking the audit log's hash chain, and its head against the latest S3 anchor, for the API (the
CLI's `payreq audit verify` does the same)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payreq.audit_anchors import AnchorCheck, check_against_anchor
from payreq.audit_chain import ChainReport, verify_chain

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass(frozen=True, slots=True)
class Verification:
    chain: ChainReport
    anchor: AnchorCheck

    @property
    def intact(self) -> bool:
        return self.chain.intact and self.anchor.consistent


def verify(connection: Connection, s3: Any, anchor_bucket: str | None) -> Verification:
    return Verification(verify_chain(connection), check_against_anchor(connection, s3, anchor_bucket))
