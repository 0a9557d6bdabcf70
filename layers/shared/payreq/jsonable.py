"""Turning rows and models into JSON-safe values, with secrets taken out."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from payreq.card_numbers import mask

REDACTED = "[redacted]"
# Field names whose values must never reach the audit log or the logs, whatever the entity, compared
# whole (case, `_` and `-` aside): `tokenId` names a token, it is not one, and stays readable.
_SECRET_FIELDS = frozenset(
    {
        "password",
        "passwordhash",
        "secret",
        "secrethash",
        "clientsecret",
        "token",
        "tokenhash",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "apikey",
        "sessionid",
        "sessionhash",
        "ticket",
        "tickethash",
        "statehash",
        "nonce",
        "cardnumber",
        "pan",
        "cvv",
        "cvc",
        "codeverifier",
    }
)


def is_secret_field(name: str) -> bool:
    return name.lower().replace("_", "").replace("-", "") in _SECRET_FIELDS


def redacted(value: Any) -> Any:
    """A JSON-safe copy of `value` with every secret-named field replaced by a marker and every
    card number in its text masked."""
    plain = to_jsonable_python(value)
    return _redact(plain)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {mask(str(key)): REDACTED if is_secret_field(str(key)) else _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if isinstance(value, str):
        # PostgreSQL's JSONB cannot hold NUL: a detail carrying one (a hostile `next`) would lose
        # the whole event, so it is stored as the replacement character instead.
        return mask(value).replace("\x00", "\ufffd")
    return value
