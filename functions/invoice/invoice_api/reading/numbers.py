"""Amounts as invoices print them, in every common grouping style.

`1,234.56` `1.234,56` `1 234,56` (space, no-break or narrow space) `1'234.56` (Swiss, straight or
typographic apostrophe)
`1,23,456.78` (Indian) `(1,234.56)` `-1.234,56` `1.234,56-`, and the typographic minus; a currency code or symbol
beside it is left to `currencies`. A lone separator before exactly three digits (`1,234`) is
ambiguous: the document's own unambiguous amounts decide whether it is a decimal mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

SPACES = " \u00a0\u202f\u2009"
APOSTROPHES = "'\u2019"
MINUSES = "-\u2212\u2013"
# Digits in groups (any of the separators), an optional decimal part, an optional sign or brackets.
# Each repetition needs its separator, so there is one way to match: linear, never backtracking.
NUMBER = re.compile(
    rf"(?<![\w.,{APOSTROPHES}])(?P<open>\()?(?P<sign>[{MINUSES}]\s?)?"
    rf"(?P<digits>\d{{1,3}}(?:[,.{SPACES}{APOSTROPHES}]\d{{2,3}})+(?:[.,]\d{{1,4}})?|\d+(?:[.,]\d{{1,4}})?)"
    rf"(?P<close>\))?(?P<trailing>[{MINUSES}](?!\d))?(?![\w,.]\d|\d)"
)


@dataclass(frozen=True)
class Number:
    value: Decimal
    start: int
    end: int
    decimals: int  # digits after the decimal mark (0 when none)
    grouped: bool  # written with thousands separators


def decimal_mark(text: str) -> str:
    """`,` when the document writes its unambiguous amounts as 1.234,56 / 12,50, else `.`."""
    comma = dot = 0
    for match in NUMBER.finditer(text):
        digits = match["digits"]
        mark = _unambiguous_mark(digits)
        if mark == ",":
            comma += 1
        elif mark == ".":
            dot += 1
    return "," if comma > dot else "."


def _unambiguous_mark(digits: str) -> str | None:
    """The decimal mark of an amount that can be read one way only (`12,50`, `1.234,5`), else None.
    Four digits after the mark is a date's year (`05.03.2026`), not an amount."""
    last = max(digits.rfind(","), digits.rfind("."))
    if last < 0:
        return None
    mark, after = digits[last], len(digits) - last - 1
    other = "." if mark == "," else ","
    if after in (1, 2) or (after == 3 and other in digits[:last]):
        return mark
    return None


def parse(digits: str, mark: str) -> tuple[Decimal, int, bool] | None:
    """(value, decimals, grouped) of a digit string, the document's decimal mark deciding ties."""
    if digits.isdigit():
        return Decimal(digits), 0, False
    last = max(digits.rfind(","), digits.rfind("."))
    decimal_part = ""
    integer = digits
    if last >= 0:
        sep, after = digits[last], len(digits) - last - 1
        other = "." if sep == "," else ","
        is_decimal = after != 3 or other in digits[:last] or (sep == mark and digits.count(sep) == 1)
        if is_decimal and after <= 4:
            integer, decimal_part = digits[:last], digits[last + 1 :]
    groups = re.split(rf"[,.{SPACES}{APOSTROPHES}]", integer)
    if len(groups) > 1 and not _grouping_ok(groups):
        return None
    try:
        value = Decimal(f"{''.join(groups)}.{decimal_part}" if decimal_part else "".join(groups))
    except InvalidOperation:
        return None
    return value, len(decimal_part), len(groups) > 1


def _grouping_ok(groups: list[str]) -> bool:
    head, rest = groups[0], groups[1:]
    if not 1 <= len(head) <= 3 or len(rest[-1]) != 3:
        return False
    # Thousands (3-digit groups) or Indian lakh/crore (2-digit groups, then the last 3).
    return all(len(group) == 3 for group in rest) or all(len(group) == 2 for group in rest[:-1])


def numbers_in(text: str, mark: str) -> list[Number]:
    """Every number in the text, left to right, with its sign."""
    found = []
    for match in NUMBER.finditer(text):
        parsed = parse(match["digits"].strip(), mark)
        if parsed is None:
            continue
        value, decimals, grouped = parsed
        negative = bool(match["sign"] or match["trailing"] or (match["open"] and match["close"]))
        found.append(Number(-value if negative else value, match.start(), match.end(), decimals, grouped))
    return found


_GLUED_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?=[\d(-])")


def amount_in(text: str, mark: str) -> Number | None:
    """The last number of the text that is not a percentage: how totals and line amounts are printed.
    A currency code written against the number ("EUR1,234.56") is set apart from it first."""
    text = _GLUED_CODE.sub(r"\1 ", text)
    candidates = [number for number in numbers_in(text, mark) if not text[number.end :].lstrip().startswith("%")]
    return candidates[-1] if candidates else None


def percentage_in(text: str, mark: str) -> Decimal | None:
    for number in numbers_in(text, mark):
        if text[number.end :].lstrip().startswith("%"):
            return number.value
    return None
