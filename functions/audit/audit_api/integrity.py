"""Checking the audit log's hash chain, and its head against the latest S3 anchor, for the API (the
CLI's `payreq audit verify` does the same)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payreq.audit_anchors import AnchorCheck, check_against_anchor
from payreq.audit_chain import ChainReport, verify_chain
from payreq.db import read_connection

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass(frozen=True, slots=True)
class Verification:
    chain: ChainReport
    anchor: AnchorCheck

    @property
    def intact(self) -> bool:
        return self.chain.intact and self.anchor.consistent


def verify(engine: Engine, s3: Any, anchor_bucket: str | None) -> Verification:
    with read_connection(engine) as connection:
        chain = verify_chain(connection)
        return Verification(chain, check_against_anchor(connection, s3, anchor_bucket))
