"""Card numbers (PANs) are never stored: one detector for every free-text field of every entity.

A person types a card number in many ways: grouped by spaces, dashes, dots or slashes, with two
spaces or a no-break space between groups, in fullwidth digits from a Japanese keyboard. The text is
NFKC-normalised first (fullwidth digits become ASCII ones), then every run of digit groups joined by
short separators is one candidate; any window of whole groups with 13-19 digits that passes the Luhn
check is a card number. Letters end a run, so an invoice number beside an amount stays apart.

Anything written to the audit log can never be taken back, so the audit writer masks with the same
detector as a last line of defence (`mask`), behind the refusal at every entry point (`find`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payreq.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterator

MIN_DIGITS, MAX_DIGITS = 13, 19
MASK = "[card number removed]"
# Digit groups joined by up to four characters that are neither letters nor digits (spaces of any
# kind, dashes, dots, slashes, invisible separators). Linear: no nested quantifier can backtrack.
_RUN = re.compile(r"[0-9]+(?:[\W_]{1,4}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_ANY_DIGIT = re.compile(r"\d")
# Identifiers are not card numbers, though their digit groups can pass the Luhn check by chance (a
# UUID's 12345678-1234-5678 is 16 digits in dash-separated groups): UUIDs and long hex strings
# (hashes, ETags) are set aside before looking, and so are ISO 8601 timestamps, whose time with
# microseconds and offset (04:50:33.008123+00:00) is 16 digits in separated groups too.
_IDENTIFIERS = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32,})"
    r"(?![0-9A-Za-z])"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
    r"(?![0-9])"
)
# Bank account numbers are legitimately long digit strings: there only a number with a card
# network's prefix and a card's usual length is refused.
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35)")
ACCOUNT_NUMBER_FIELDS = frozenset({"accountNumber", "account_number", "iban", "routingNumber", "routing_number"})


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = ord(digit) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int


def _card_spans(text: str, *, strict: bool) -> Iterator[_Span]:
    """Where card numbers sit in `text` (already NFKC-normalised)."""
    # Blanked out with letters of the same length, so spans still point into `text`.
    text = _IDENTIFIERS.sub(lambda found: "x" * len(found.group()), text)
    for run in _RUN.finditer(text):
        groups = list(_GROUP.finditer(run.group()))
        first = 0
        while first < len(groups):
            found = None
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last].group()
                if len(digits) > MAX_DIGITS:
                    break
                if len(digits) >= MIN_DIGITS and _is_card(digits, strict=strict):
                    found = last
            if found is None:
                first += 1
                continue
            yield _Span(run.start() + groups[first].start(), run.start() + groups[found].end())
            first = found + 1


def _is_card(digits: str, *, strict: bool) -> bool:
    if strict and not (_CARD_PREFIX.match(digits) and len(digits) in (15, 16)):
        return False
    return luhn_valid(digits)


def normalised(text: str) -> str:
    """NFKC (fullwidth digits and no-break spaces become plain ones), and digits of any script as
    ASCII digits (NFKC leaves Arabic-Indic or Devanagari digits as they are)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return _ANY_DIGIT.sub(lambda digit: str(unicodedata.decimal(digit.group(), 0)), text)


def contains_card_number(text: str, *, strict: bool = False) -> bool:
    return next(_card_spans(normalised(text), strict=strict), None) is not None


def mask(text: str) -> str:
    """`text` with every card number in it replaced by a marker (and NFKC-normalised if it had one)."""
    plain = normalised(text)
    spans = list(_card_spans(plain, strict=False))
    if not spans:
        return text
    pieces, at = [], 0
    for span in spans:
        pieces += [plain[at : span.start], MASK]
        at = span.end
    return "".join([*pieces, plain[at:]])


def masked(value: Any) -> Any:
    """A JSON-like value with every card number in its strings masked (keys included)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {masked(key): masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


def paths_with_card_numbers(value: Any, path: str = "") -> list[str]:
    """Where in a JSON value a card number appears, as `services[0].description` paths."""
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in paths_with_card_numbers(item, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list):
        return [
            found for index, item in enumerate(value) for found in paths_with_card_numbers(item, f"{path}[{index}]")
        ]
    if isinstance(value, str):
        field = path.rsplit(".", 1)[-1]
        return [path] if contains_card_number(value, strict=field in ACCOUNT_NUMBER_FIELDS) else []
    return []


def refuse_card_numbers(value: Any) -> None:
    """Raise 422 `card_number_refused`, naming each field, when `value` holds a card number."""
    found = paths_with_card_numbers(value)
    if found:
        raise InvalidInput(
            "A full card number is not accepted in any field; give the brand, last 4 digits and expiry only.",
            code="card_number_refused",
            details=[
                {"field": field, "code": "card_number_refused", "message": "holds a full card number"}
                for field in found
            ],
        )
