"""`payreq audit verify`: walk the audit log's hash chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payreq.audit_chain import verify_chain
from payreq.db import get_engine, read_connection

if TYPE_CHECKING:
    from payreq.audit_chain import ChainReport


class ChainBroken(Exception):
    """The audit log's hash chain does not verify; the message names the first broken row."""


def verify_audit_chain() -> str:
    """One line on success; raises ChainBroken (one line too) on the first broken link."""
    with read_connection(get_engine()) as connection:
        report = verify_chain(connection)
    return describe(report)


def describe(report: ChainReport) -> str:
    if report.first_broken is not None:
        raise ChainBroken(
            f"audit chain broken at {report.first_broken.describe()}; {report.checked} events verified before it"
        )
    if report.head_hash is None:
        return "audit chain intact: no events yet"
    return f"audit chain intact: {report.checked} events, head seq {report.head_seq} hash {report.head_hash.hex()}"
