"""Response bodies of the audit function (camelCase JSON)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Self

from payreq.http.models import ApiModel

if TYPE_CHECKING:
    from audit_api.integrity import Verification
    from audit_api.records import AuditEventRecord
    from payreq.audit_anchors import AnchorCheck
    from payreq.audit_chain import BrokenLink

ExportFormat = Literal["csv", "jsonl"]


class AuditEvent(ApiModel):
    id: uuid.UUID
    seq: int
    occurred_at: datetime
    category: str
    action: str
    actor_id: uuid.UUID | None
    entity_type: str | None
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    source_ip: str | None
    user_agent: str | None
    hash: str

    @classmethod
    def from_record(cls, event: AuditEventRecord) -> Self:
        return cls.model_validate({**_columns(event), "id": event.event_id, "hash": bytes(event.hash).hex()})


class SecurityEvent(ApiModel):
    """A security event as its own list shows it: who (if known), from where, what, and the details."""

    id: uuid.UUID
    seq: int
    occurred_at: datetime
    action: str
    user_id: uuid.UUID | None
    details: dict[str, Any] | None
    source_ip: str | None
    user_agent: str | None
    request_id: str | None
    hash: str

    @classmethod
    def from_record(cls, event: AuditEventRecord) -> Self:
        return cls.model_validate(
            {
                **_columns(event),
                "id": event.event_id,
                "user_id": event.actor_id,
                "details": event.after,
                "hash": bytes(event.hash).hex(),
            }
        )


class BrokenLinkReport(ApiModel):
    row_id: int
    seq: int
    event_id: uuid.UUID
    reason: str
    expected_seq: int
    message: str

    @classmethod
    def from_link(cls, link: BrokenLink) -> Self:
        return cls(
            row_id=link.row_id,
            seq=link.seq,
            event_id=uuid.UUID(link.event_id),
            reason=link.reason,
            expected_seq=link.expected_seq,
            message=link.describe(),
        )


class AnchorReport(ApiModel):
    """The chain's head against the latest anchor in S3: a deleted or recomputed tail shows here."""

    status: Literal["matches", "truncated", "rewritten", "unanchored", "unavailable"]
    anchor_seq: int | None
    anchor_hash: str | None
    chain_hash: str | None
    message: str

    @classmethod
    def from_check(cls, check: AnchorCheck) -> Self:
        return cls(
            status=check.status,
            anchor_seq=check.anchor.seq if check.anchor else None,
            anchor_hash=check.anchor.hash if check.anchor else None,
            chain_hash=check.chain_hash,
            message=check.describe(),
        )


class ChainVerification(ApiModel):
    intact: bool
    checked: int
    head_seq: int | None
    head_hash: str | None
    first_broken: BrokenLinkReport | None
    anchor: AnchorReport

    @classmethod
    def from_verification(cls, verification: Verification) -> Self:
        report = verification.chain
        return cls(
            intact=verification.intact,
            checked=report.checked,
            head_seq=report.head_seq,
            head_hash=report.head_hash.hex() if report.head_hash else None,
            first_broken=BrokenLinkReport.from_link(report.first_broken) if report.first_broken else None,
            anchor=AnchorReport.from_check(verification.anchor),
        )


def _columns(event: AuditEventRecord) -> dict[str, Any]:
    # The id of a row is not the event's: each model maps `id` to `event_id` itself.
    return {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}
