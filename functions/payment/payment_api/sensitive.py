"""Card data must never be stored: spot full card numbers anywhere in a request, mask the rest."""

from __future__ import annotations

import re
from typing import Any

from stdnum import luhn

# 13-19 digits, optionally grouped by spaces or dashes, as people type card numbers.
_DIGIT_RUNS = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# Bank account numbers are legitimately long digit strings; there only card-like numbers are refused.
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35)")


def looks_like_card_number(text: str, *, strict: bool = False) -> bool:
    for run in _DIGIT_RUNS.findall(text):
        digits = re.sub(r"\D", "", run)
        if luhn.is_valid(digits) and (not strict or (_CARD_PREFIX.match(digits) and len(digits) in (15, 16))):
            return True
    return False


def card_number_paths(value: Any, path: str = "") -> list[str]:
    """Where in a JSON value a full card number appears (account numbers judged strictly)."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in card_number_paths(item, f"{path}.{key}".strip("."))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in card_number_paths(item, f"{path}[{index}]")]
    if isinstance(value, str | int) and not isinstance(value, bool):
        strict = path.endswith("accountNumber")
        return [path] if looks_like_card_number(str(value), strict=strict) else []
    return []


def last4(value: str) -> str:
    return re.sub(r"\W", "", value)[-4:]
