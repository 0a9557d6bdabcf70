"""Queries on the audit log: filtered, newest first by chain position (`seq`), or oldest first for export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from audit_api.records import AuditEventRecord
from payreq.db.paging import newest_by_seq
from payreq.db.records import records_of
from payreq.db.schema import audit_events

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.engine import Connection


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What to look for; unset fields do not filter. Times: `occurred_from` inclusive, `occurred_to` exclusive."""

    category: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    request_id: str | None = None
    source_ip: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        columns = audit_events.c
        equal_to = {
            columns.category: self.category,
            columns.entity_type: self.entity_type,
            columns.entity_id: self.entity_id,
            columns.actor_id: self.actor_id,
            columns.action: self.action,
            columns.request_id: self.request_id,
            columns.source_ip: self.source_ip,
        }
        found = [column == value for column, value in equal_to.items() if value is not None]
        if self.occurred_from is not None:
            found.append(columns.occurred_at >= self.occurred_from)
        if self.occurred_to is not None:
            found.append(columns.occurred_at < self.occurred_to)
        return found


def newest_events(
    connection: Connection, where: EventFilter, *, limit: int, before_seq: int | None = None
) -> list[AuditEventRecord]:
    query = select(audit_events).where(*where.conditions())
    return newest_by_seq(connection, AuditEventRecord, query, audit_events.c.seq, limit=limit, before=before_seq)


def oldest_events(connection: Connection, where: EventFilter, *, limit: int) -> list[AuditEventRecord]:
    query = select(audit_events).where(*where.conditions()).order_by(audit_events.c.seq).limit(limit)
    return records_of(AuditEventRecord, connection.execute(query).mappings())
