"""Turning rows and models into JSON-safe values, with secrets taken out."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

REDACTED = "[redacted]"
# Field names whose values must never reach the audit log or the logs, whatever the entity.
_SECRET_MARKERS = ("password", "secret", "token", "session_id", "card_number", "pan", "cvv", "cvc")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def redacted(value: Any) -> Any:
    """A JSON-safe copy of `value` with every secret-named field replaced by a marker."""
    plain = to_jsonable_python(value)
    return _redact(plain)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: REDACTED if is_secret_field(str(key)) else _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value
