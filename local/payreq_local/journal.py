"""The local stack's record of recent invocations: one line each in the terminal, and
`/_local/invocations` for tests and curious developers."""

from __future__ import annotations

import collections
import itertools
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payreq_local.workers import InvocationResult

log = logging.getLogger("payreq_local")


class Journal:
    """The recent invocations, printed one line each and kept for `/_local/invocations`."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)
        self._sequence = itertools.count(1)

    def record(
        self,
        source: str,
        subject: str,
        function: str | None,
        status: str | int,
        duration_ms: float,
        result: InvocationResult | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": next(self._sequence),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": source,
            "subject": subject,
            "function": function,
            "status": status,
            "durationMs": round(duration_ms, 2),
            **details,
        }
        cold = ""
        if result is not None:
            entry["coldStartMs"] = round(result.cold_start_ms, 1) if result.cold_start_ms is not None else None
            if result.error:
                entry["error"] = {key: result.error.get(key) for key in ("errorType", "errorMessage")}
            if result.cold_start_ms is not None:
                cold = f", cold start {result.cold_start_ms:.0f} ms"
        self._entries.append(entry)
        target = f" -> {function}" if function else ""
        failure = f" [{entry['error']['errorType']}: {entry['error']['errorMessage']}]" if "error" in entry else ""
        log.info("%-4s %s%s %s (%.1f ms%s)%s", source.upper(), subject, target, status, duration_ms, cold, failure)
        return entry

    def query(self, *, function: str | None = None, source: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self._entries
            if entry["seq"] > since
            and (function is None or entry["function"] == function)
            and (source is None or entry["source"] == source)
        ]


def ms_since(started: float) -> float:
    """Milliseconds since `started`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - started) * 1000
