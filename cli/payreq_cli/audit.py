"""`payreq audit verify`: walk the audit log's hash chain and compare its head with the latest anchor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payreq import aws
from payreq.audit_anchors import AnchorCheck, check_against_anchor
from payreq.audit_chain import verify_chain
from payreq.db import get_engine, read_connection

if TYPE_CHECKING:
    from payreq.audit_chain import ChainReport


class ChainBroken(Exception):
    """The audit log does not verify; the message names the first broken row, or the tail's problem."""


def verify_audit_chain(anchor_bucket: str | None = None) -> str:
    """One line on success; raises ChainBroken (one line too) on a broken link or an anchor mismatch."""
    with read_connection(get_engine()) as connection:
        report = verify_chain(connection)
        anchor = check_against_anchor(connection, aws.client("s3") if anchor_bucket else None, anchor_bucket)
    return describe(report, anchor, anchor_bucket=anchor_bucket)


def describe(report: ChainReport, anchor: AnchorCheck, *, anchor_bucket: str | None) -> str:
    if report.first_broken is not None:
        raise ChainBroken(
            f"audit chain broken at {report.first_broken.describe()}; {report.checked} events verified before it"
        )
    if not anchor.consistent:
        raise ChainBroken(f"audit chain {anchor.describe()}; {report.checked} events verified")
    tail = anchor.describe() if anchor_bucket else "no anchor bucket given: the tail is unchecked"
    if report.head_hash is None:
        return f"audit chain intact: no events yet; {tail}"
    return (
        f"audit chain intact: {report.checked} events, head seq {report.head_seq} hash {report.head_hash.hex()}; {tail}"
    )
