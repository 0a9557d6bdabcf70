"""pg8000's result decoding without its per-row and per-statement costs in pure Python.

- JSON columns (`json`, `jsonb`): parsed by pydantic-core's parser (Rust), not `json.loads`: half
  the time for the documents the reads return (a page of 50 requests carries each one's steps and
  approvals as JSON). The same Python values come back.
- Dates and timestamps: pg8000 (1.31) parses each one with `datetime.strptime`, tens of
  microseconds a value (a list of 50 requests carries a few hundred). PostgreSQL's ISO output
  (the default `DateStyle`, which pg8000 assumes too) is what `fromisoformat` reads, in C. What it
  cannot read (`infinity`, BC dates, years past 9999) goes to pg8000's own converter, unchanged.
- Row descriptions: an unnamed statement (one without parameters: `pipelined_statements` names the
  others) is described by the server on every run, and pg8000 rebuilds the column list and its
  converters from those bytes each time. The same bytes mean the same columns, so each connection
  remembers what it built, per description.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pg8000.converters
import pg8000.core
from pydantic_core import from_json

from payreq.db.pipelined_statements import forget_prepared

TIMESTAMPTZ, TIMESTAMP, DATE = 1184, 1114, 1082
JSON, JSONB = 114, 3802
# Distinct descriptions remembered per connection: far more than the statements a function runs.
REMEMBERED = 512


def decode_faster() -> None:
    """Give every pg8000 connection opened from now on the faster decoding. Idempotent."""
    types = pg8000.converters.PG_TYPES
    if getattr(types[TIMESTAMPTZ], "from_iso", False):
        return
    types[TIMESTAMPTZ] = _from_iso(datetime.fromisoformat, types[TIMESTAMPTZ])
    types[TIMESTAMP] = _from_iso(datetime.fromisoformat, types[TIMESTAMP])
    types[DATE] = _from_iso(date.fromisoformat, types[DATE])
    types[JSON] = types[JSONB] = from_json
    _remember_row_descriptions()


def _from_iso(parse: Any, pg8000_own: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            return pg8000_own(text)

    convert.from_iso = True  # type: ignore[attr-defined]
    return convert


def _remember_row_descriptions() -> None:
    connection_class: Any = pg8000.core.CoreConnection
    own_describe, own_register = connection_class.handle_ROW_DESCRIPTION, connection_class.register_in_adapter

    def handle_ROW_DESCRIPTION(self: Any, data: Any, context: Any) -> None:
        remembered: dict[bytes, tuple[Any, Any]] = self.__dict__.setdefault("_row_descriptions", {})
        key = bytes(data)
        found = remembered.get(key)
        if found is None:
            own_describe(self, data, context)
            if len(remembered) >= REMEMBERED:
                remembered.clear()
            remembered[key] = (context.columns, context.input_funcs)
            return
        context.columns, context.input_funcs = found
        if context.rows is None:
            context.rows = []

    def register_in_adapter(self: Any, oid: int, in_func: Any) -> None:
        # A converter registered later must be used by the columns described before it.
        self.__dict__.pop("_row_descriptions", None)
        forget_prepared(self)
        own_register(self, oid, in_func)

    connection_class.handle_ROW_DESCRIPTION = handle_ROW_DESCRIPTION
    connection_class.register_in_adapter = register_in_adapter
