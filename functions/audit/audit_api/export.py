"""Exporting a time range of the audit log as CSV or JSON Lines, in chain order.

API Gateway's HTTP API cannot stream a Lambda response and Lambda returns at most 6 MB, so an export
is one whole body for a bounded range: at most EXPORT_MAX_ROWS events and EXPORT_MAX_BYTES of text.
A range holding more is refused (422) with a request to narrow it; never silently truncated. Each
export is itself recorded as a security event (`audit_exported`): who took a copy of the log, of what.
The route reads the export and records it in two units of work (see `record_export`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from audit_api.listing import check_time_range
from audit_api.models import AuditEvent, ExportFormat
from audit_api.repository import EventFilter, oldest_events
from payreq.audit import record_security_event
from payreq.errors import InvalidInput, detail

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from audit_api.records import AuditEventRecord
    from payreq.context import RequestContext

EXPORT_MAX_ROWS = 10_000
# Lambda's response limit is 6 MB; this leaves room for headers and the envelope.
EXPORT_MAX_BYTES = 5_000_000
CONTENT_TYPES: dict[ExportFormat, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CSV_COLUMNS = tuple(AuditEvent.model_fields)
# A cell starting with one of these is a formula to a spreadsheet: user agents and entity ids come
# from callers, so CSV cells are defused with a leading apostrophe (OWASP's advice). JSON Lines is
# the faithful format.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Export:
    body: str
    content_type: str
    file_name: str
    events: int
    occurred_from: datetime
    occurred_to: datetime
    fmt: ExportFormat


def export_events(
    connection: Connection, *, occurred_from: datetime, occurred_to: datetime, fmt: ExportFormat
) -> Export:
    """The range's events as one body; read only, so the caller can read on a connection without a transaction."""
    check_time_range(occurred_from, occurred_to)
    where = EventFilter(occurred_from=occurred_from, occurred_to=occurred_to)
    events = oldest_events(connection, where, limit=EXPORT_MAX_ROWS + 1)
    if len(events) > EXPORT_MAX_ROWS:
        raise _too_large(f"more than {EXPORT_MAX_ROWS:,} events")
    body = render_csv(events) if fmt == "csv" else render_jsonl(events)
    if len(body.encode()) > EXPORT_MAX_BYTES:
        raise _too_large(f"more than {EXPORT_MAX_BYTES:,} bytes")
    stamp = f"{occurred_from.astimezone(UTC):%Y%m%dT%H%M%SZ}-{occurred_to.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return Export(body, CONTENT_TYPES[fmt], f"audit-events-{stamp}.{fmt}", len(events), occurred_from, occurred_to, fmt)


def record_export(connection: Connection, context: RequestContext, export: Export) -> None:
    """Put the export on record. Run it once the export is ready, in a short transaction of its own:
    the chain's lock is then not held while reading, and if it cannot be recorded, the export is not
    handed out."""
    record_security_event(
        connection,
        context,
        "audit_exported",
        {
            "from": export.occurred_from.isoformat(),
            "to": export.occurred_to.isoformat(),
            "format": export.fmt,
            "events": export.events,
        },
    )


def render_jsonl(events: Sequence[AuditEventRecord]) -> str:
    return "".join(AuditEvent.from_record(event).model_dump_json(by_alias=True) + "\n" for event in events)


def render_csv(events: Sequence[AuditEventRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([AuditEvent.model_fields[name].alias or name for name in CSV_COLUMNS])
    for event in events:
        shown = AuditEvent.from_record(event).model_dump(mode="json")
        writer.writerow([_cell(shown[name]) for name in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _too_large(what: str) -> InvalidInput:
    return InvalidInput(
        f"This range holds {what}, more than one export may carry; ask for a narrower range (from/to).",
        code="export_too_large",
        details=[
            detail(
                "from", f"one export carries at most {EXPORT_MAX_ROWS} events and {EXPORT_MAX_BYTES} bytes", "too_large"
            )
        ],
    )
