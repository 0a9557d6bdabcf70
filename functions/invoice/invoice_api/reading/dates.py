"""Dates as invoices print them: ISO `2026-03-05`, Y/M/D `2026/03/05`, numeric D/M/Y or M/D/Y with
`/ . -` (two-digit years too), and written forms in seven languages (`5 March 2026`, `March 5, 2026`,
`5. März 2026`, `5 de marzo de 2026`, `1er mars 2026`, `05-Mar-2026`).

A numeric date whose day and month could swap (`03/05/2026`) is read in the order the document's
own unambiguous dates use; failing that, in its locale's order (month first only for US English).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from invoice_api.reading.vocabulary import fold, months

Order = str  # "dmy" or "mdy"


@dataclass(frozen=True)
class FoundDate:
    value: date
    start: int
    end: int
    # The day and month could be swapped, and only the document's convention decided.
    ambiguous: bool = False


_ISO = re.compile(r"(?<![\d])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d])")
_NUMERIC = re.compile(r"(?<![\d.,/-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d]|[.,]\d)")


@cache
def _written() -> tuple[re.Pattern[str], re.Pattern[str]]:
    names = "|".join(re.escape(name) for name in sorted(months(), key=len, reverse=True))
    ordinal = r"(?:st|nd|rd|th|er|eme|e|º|°|o)?"
    day_first = re.compile(
        rf"(?<![\w])(\d{{1,2}}){ordinal}\.?[\s\-/]*(?:de\s+|di\s+)?({names})\.?[\s\-/,]*(?:de\s+)?(\d{{4}})(?!\d)"
    )
    month_first = re.compile(rf"(?<![\w])({names})\.?\s*(\d{{1,2}}){ordinal},?\s+(\d{{4}})(?!\d)")
    return day_first, month_first


def order_of(texts: list[str], *, month_first_locale: bool) -> Order:
    """The day/month order a document uses: its numeric dates that can only be read one way decide."""
    day_first = month_first = 0
    for text in texts:
        for match in _NUMERIC.finditer(text):
            if match[2] == ".":
                day_first += 1  # 05.03.2026 is always day first
                continue
            first, second = int(match[1]), int(match[3])
            if first > 12 >= second:
                day_first += 1
            elif second > 12 >= first:
                month_first += 1
    if day_first != month_first:
        return "dmy" if day_first > month_first else "mdy"
    return "mdy" if month_first_locale else "dmy"


def dates_in(text: str, order: Order) -> list[FoundDate]:
    """Every date in the text, left to right."""
    folded = fold(text)
    found: list[FoundDate] = []
    taken: set[int] = set()  # characters already read as a date: each is looked at once, not per date
    for match in _ISO.finditer(folded):
        _add(found, taken, match, int(match[1]), int(match[3]), int(match[4]))
    day_first, month_first = _written()
    for match in day_first.finditer(folded):
        _add(found, taken, match, int(match[3]), months()[match[2]][0], int(match[1]))
    for match in month_first.finditer(folded):
        _add(found, taken, match, int(match[3]), months()[match[1]][0], int(match[2]))
    for match in _NUMERIC.finditer(folded):
        first, second, year = int(match[1]), int(match[3]), _year(match[4])
        swappable = first <= 12 and second <= 12 and first != second and match[2] != "."
        if match[2] == "." or first > 12 or (order == "dmy" and second <= 12):
            _add(found, taken, match, year, second, first, ambiguous=swappable)
        else:
            _add(found, taken, match, year, first, second, ambiguous=swappable)
    found.sort(key=lambda item: item.start)
    return found


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def _add(
    found: list[FoundDate],
    taken: set[int],
    match: re.Match[str],
    year: int,
    month: int,
    day: int,
    *,
    ambiguous: bool = False,
) -> None:
    if not taken.isdisjoint(range(match.start(), match.end())):
        return  # already read as another (more specific) form
    if not 1990 <= year <= 2100:
        return
    try:
        found.append(FoundDate(date(year, month, day), match.start(), match.end(), ambiguous))
    except ValueError:
        return
    taken.update(range(match.start(), match.end()))
