"""The one way a moment is written in JSON: ISO 8601 in UTC with a `Z` (`2026-11-22T10:15:00.123456Z`),
as pydantic writes every response model's datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
