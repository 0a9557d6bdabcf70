"""Fields and line items from an invoice's words and their positions, without per-vendor templates.

The page's fragments become lines (same baseline) of cells (fragments close together). Fields are
found by their labels ("Invoice no.", "Due date", "Total", in English and German), with the value
in the rest of the cell, the next cell, or the cell below. Line items are the rows under a header
naming a description, a quantity and an amount column, each ending in three numbers (quantity,
unit price, amount). Numbers follow the document's locale (`1.234,56` or `1,234.56`, decided by
counting which shape its amounts have); dates may be ISO, numeric or written out. Every field keeps
its confidence and the page and line it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from invoice_api.pdftext import Fragment, Page


@dataclass
class Line:
    page: int
    number: int  # 1-based, top to bottom
    y: float
    cells: list[tuple[float, str]]  # (x, text), left to right

    @property
    def text(self) -> str:
        return " ".join(text for _, text in self.cells)


@dataclass(frozen=True)
class Found:
    value: Any
    confidence: float
    page: int
    line: int


@dataclass(frozen=True)
class Item:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    page: int
    line: int


@dataclass
class Extracted:
    fields: dict[str, Found] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)


# --- lines ---------------------------------------------------------------------------------------


def lines_of(pages: Iterable[Page]) -> list[Line]:
    result: list[Line] = []
    for page in pages:
        rows: list[list[Fragment]] = []
        for fragment in sorted(page.fragments, key=lambda f: (-f.y, f.x)):
            if rows and abs(rows[-1][0].y - fragment.y) <= max(1.5, fragment.size * 0.3):
                rows[-1].append(fragment)
            else:
                rows.append([fragment])
        for number, row in enumerate(rows, start=1):
            cells: list[tuple[float, str]] = []
            end = None
            for fragment in sorted(row, key=lambda f: f.x):
                if cells and end is not None and fragment.x - end < fragment.size * 0.8:
                    x, text = cells[-1]
                    cells[-1] = (x, f"{text} {fragment.text}".strip())
                else:
                    cells.append((fragment.x, fragment.text))
                end = fragment.x + len(fragment.text) * fragment.size * 0.5
            result.append(Line(page.number, number, row[0].y, cells))
    return result


# --- numbers, dates, currencies ------------------------------------------------------------------

MINUS, QUOTE = "\u2212", "\u2019"  # typographic minus and apostrophe (thousands in CH)
_NUMBER = re.compile(rf"^[-{MINUS}]?\(?\d+(?:[.,'{QUOTE}]\d+)*\)?$")
_COMMA_DECIMAL = re.compile(r"(?:^|[^\d.,])\d{1,3}(?:\.\d{3})*,\d{2}(?![\d.,])")
_DOT_DECIMAL = re.compile(r"(?:^|[^\d.,])\d{1,3}(?:,\d{3})*\.\d{2}(?![\d.,])")
_CURRENCY_MARKS = re.compile(r"[€$£¥]|\b(?:EUR|USD|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK|CAD|AUD|NZD|INR)\b")
CODES = ("EUR", "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "NZD", "INR")
SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "¥": "JPY"}


def decimal_separator(text: str) -> str:
    """`,` when the document writes amounts as 1.234,56, else `.`."""
    return "," if len(_COMMA_DECIMAL.findall(text)) > len(_DOT_DECIMAL.findall(text)) else "."


def to_decimal(token: str, separator: str) -> Decimal | None:
    token = _CURRENCY_MARKS.sub("", token).strip().replace(MINUS, "-")
    if not _NUMBER.match(token):
        return None
    negative = token.startswith("-") or token.startswith("(")
    token = token.strip("-()").replace("'", "").replace(QUOTE, "")
    token = token.replace(".", "").replace(",", ".") if separator == "," else token.replace(",", "")
    try:
        value = Decimal(token)
    except InvalidOperation:
        return None
    return -value if negative else value


def numbers_at_end(text: str, separator: str) -> tuple[list[Decimal], str]:
    """The numbers a line ends with (percentages skipped) and the text before them."""
    tokens = _CURRENCY_MARKS.sub(" ", text).split()
    numbers: list[Decimal] = []
    while tokens:
        token = tokens[-1]
        if token.endswith("%"):
            tokens.pop()
            continue
        value = to_decimal(token, separator)
        if value is None:
            break
        numbers.insert(0, value)
        tokens.pop()
    return numbers, " ".join(tokens)


MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan", "januar", "jänner"),
            ("february", "feb", "februar"),
            ("march", "mar", "märz", "maerz", "mär"),
            ("april", "apr"),
            ("may", "mai"),
            ("june", "jun", "juni"),
            ("july", "jul", "juli"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct", "oktober", "okt"),
            ("november", "nov"),
            ("december", "dec", "dezember", "dez"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})([./])(\d{1,2})\2(\d{4})\b")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)


def find_date(text: str, *, day_first: bool) -> date | None:
    attempts: list[tuple[int, int, int]] = []
    if match := _ISO_DATE.search(text):
        attempts.append((int(match[1]), int(match[2]), int(match[3])))
    if match := _DAY_MONTH.search(text):
        attempts.append((int(match[3]), MONTHS[match[2].lower()], int(match[1])))
    if match := _MONTH_DAY.search(text):
        attempts.append((int(match[3]), MONTHS[match[1].lower()], int(match[2])))
    if match := _NUMERIC_DATE.search(text):
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        if match[2] == "." or first > 12 or (day_first and second <= 12):
            attempts.append((year, second, first))
        else:
            attempts.append((year, first, second))
    for year, month, day in attempts:
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


# --- labels --------------------------------------------------------------------------------------

NUMBER_LABEL = re.compile(
    r"^(?:rechnungsnummer|rechnungs-?nr\.?)\s*:?\s*|"
    r"^(?:invoice|inv\.?|bill|rechnung|facture)\s*(?:number|no\.?|nr\.?|num(?:ber|ero)?\.?|#|n[°º]\.?|id)\s*[:#.]?\s*",
    re.IGNORECASE,
)
DUE_LABEL = re.compile(
    r"^(?:due\s*date|payment\s*due(?:\s*date)?|due(?:\s*on|\s*by)?|pay(?:able)?\s*by|"
    r"f[äa]llig(?:keitsdatum|\s*am)?|zahlbar\s*bis)\s*[:.]?\s*",
    re.IGNORECASE,
)
ISSUE_LABEL = re.compile(
    r"^(?:invoice\s*date|issue\s*date|date\s*of\s*issue|issued(?:\s*on)?|rechnungsdatum|datum|date)\s*[:.]?\s*",
    re.IGNORECASE,
)
VENDOR_LABEL = re.compile(
    r"^(?:from|vendor|seller|supplier|issued\s*by|lieferant|verkäufer|rechnungssteller)\s*:\s*", re.IGNORECASE
)
SUBTOTAL_LABEL = re.compile(
    r"^(?:sub-?\s*total|net\s*(?:amount|total)?|nettobetrag|zwischensumme|summe\s*netto)\b", re.I
)
TAX_LABEL = re.compile(r"^(?:tax|vat|gst|sales\s*tax|mwst\.?|ust\.?|umsatzsteuer|mehrwertsteuer)\b", re.IGNORECASE)
TOTAL_LABEL = re.compile(
    r"^(?:(?:grand\s*)?total(?:\s*(?:due|amount|payable))?|amount\s*due|balance\s*due|"
    r"gesamt(?:betrag|summe)?|rechnungsbetrag|endbetrag|summe\s*brutto|total\s*ttc)\b",
    re.IGNORECASE,
)
NOT_A_VENDOR = re.compile(
    r"^(?:(?:tax\s*)?invoice|rechnung|facture|bill\s*to|ship\s*to|to|customer|kunde|page|seite)\b|"
    r"^(?:date|due|invoice)\b",
    re.IGNORECASE,
)
BILL_TO = re.compile(r"^(?:bill(?:ed)?\s*to|invoice\s*to|customer|kunde|rechnungsempfänger|ship\s*to)\b", re.I)
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/._]*$")

HEADER_DESCRIPTION = re.compile(
    r"\b(?:description|item|items|service|services|product|article|details|bezeichnung|beschreibung|leistung|artikel)\b",
    re.IGNORECASE,
)
HEADER_QUANTITY = re.compile(r"\b(?:qty|quantity|quant\.?|menge|anzahl|units|hours|hrs|stk)\b", re.IGNORECASE)
HEADER_AMOUNT = re.compile(r"\b(?:amount|total|line\s*total|betrag|gesamt|summe)\b", re.IGNORECASE)


def _after_label(lines: list[Line], index: int, cell: int, label: re.Pattern[str]) -> tuple[str, int] | None:
    """The value a label introduces: the rest of its cell, the next cell, or the cell below it.
    Returns the value and the index of the line it is on."""
    line = lines[index]
    x, text = line.cells[cell]
    rest = label.sub("", text, count=1).strip()
    if rest:
        return rest, index
    if cell + 1 < len(line.cells):
        return line.cells[cell + 1][1], index
    if index + 1 < len(lines) and lines[index + 1].page == line.page:
        below = lines[index + 1]
        for bx, btext in below.cells:
            if abs(bx - x) < 30:
                return btext, index + 1
    return None


def _labelled(lines: list[Line], label: re.Pattern[str]) -> Iterable[tuple[str, Line, int]]:
    for index, line in enumerate(lines):
        for cell, (_, text) in enumerate(line.cells):
            if label.match(text):
                found = _after_label(lines, index, cell, label)
                if found is not None:
                    yield found[0], lines[found[1]], cell


def _put(result: Extracted, name: str, value: Any, confidence: float, line: Line) -> None:
    if name not in result.fields:
        result.fields[name] = Found(value, confidence, line.page, line.number)


# --- the extraction ------------------------------------------------------------------------------


def extract(pages: Iterable[Page]) -> Extracted:
    lines = lines_of(pages)
    whole = "\n".join(line.text for line in lines)
    separator = decimal_separator(whole)
    result = Extracted()
    _invoice_number(lines, result)
    _dates(lines, result, day_first=separator == "," or "€" in whole or "EUR" in whole or "GBP" in whole)
    _vendor(lines, result)
    _currency(lines, whole, result)
    items_end = _items(lines, result, separator)
    _amounts(lines[items_end:] if items_end else lines, result, separator)
    return result


def _invoice_number(lines: list[Line], result: Extracted) -> None:
    for value, line, _ in _labelled(lines, NUMBER_LABEL):
        token = value.split()[0].strip(".,;:") if value.split() else ""
        if _REFERENCE.match(token) and any(ch.isdigit() for ch in token):
            _put(result, "invoice_number", token, 0.9, line)
            return


def _dates(lines: list[Line], result: Extracted, *, day_first: bool) -> None:
    for name, label in (("due_date", DUE_LABEL), ("issue_date", ISSUE_LABEL)):
        for value, line, cell in _labelled(lines, label):
            text = line.cells[cell][1]
            if name == "issue_date" and DUE_LABEL.match(text):
                continue
            found = find_date(value, day_first=day_first) or find_date(line.text, day_first=day_first)
            if found is not None:
                _put(result, name, found, 0.9, line)
                break


def _vendor(lines: list[Line], result: Extracted) -> None:
    for value, line, _ in _labelled(lines, VENDOR_LABEL):
        if value.strip():
            _put(result, "vendor", value.strip(), 0.85, line)
            return
    # The issuer's name usually leads the first page: its first cell that is no title or label.
    for line in lines[:12]:
        if line.page != 1:
            break
        first = line.cells[0][1].strip()
        if BILL_TO.match(first):
            break
        if NOT_A_VENDOR.match(first) or NUMBER_LABEL.match(first) or not re.search(r"[A-Za-z]{2}", first):
            continue
        if find_date(first, day_first=True) is not None or ":" in first:
            continue
        _put(result, "vendor", first, 0.5, line)
        return


def _currency(lines: list[Line], whole: str, result: Extracted) -> None:
    counts = {code: len(re.findall(rf"\b{code}\b", whole)) for code in CODES}
    best = max(counts, key=lambda code: counts[code])
    if counts[best]:
        line = next(line for line in lines if re.search(rf"\b{best}\b", line.text))
        _put(result, "currency", best, 0.9 if counts[best] > 1 else 0.8, line)
        return
    for symbol, code in SYMBOLS.items():
        if symbol in whole:
            line = next(line for line in lines if symbol in line.text)
            _put(result, "currency", code, 0.6, line)
            return


def _is_header(line: Line) -> bool:
    text = line.text
    return bool(HEADER_DESCRIPTION.search(text) and HEADER_QUANTITY.search(text) and HEADER_AMOUNT.search(text))


def _ends_items(line: Line) -> bool:
    first = line.cells[0][1]
    return bool(SUBTOTAL_LABEL.match(first) or TOTAL_LABEL.match(first) or TAX_LABEL.match(first))


def _item(line: Line, separator: str, *, strict: bool) -> Item | None:
    numbers, description = numbers_at_end(line.text, separator)
    if len(numbers) < 3 or not description or not re.search(r"[^\W\d_]", description):
        return None
    quantity, unit_price, amount = numbers[-3:]
    if len(numbers) > 3:
        description = " ".join([description, *(str(n) for n in numbers[:-3])])
    if strict and abs(quantity * unit_price - amount) > Decimal("0.01") * max(Decimal(1), abs(quantity)):
        return None
    return Item(description.strip(), quantity, unit_price, amount, line.page, line.number)


def _items(lines: list[Line], result: Extracted, separator: str) -> int:
    """Line items under a table header (repeated or not on later pages); without a header, rows whose
    three trailing numbers agree (quantity x unit price = amount). Returns where the table ended."""
    inside, seen_header, end = False, False, 0
    for index, line in enumerate(lines):
        if _is_header(line):
            inside = seen_header = True
            continue
        if not inside:
            continue
        if _ends_items(line):
            inside, end = False, index
            continue
        item = _item(line, separator, strict=False)
        if item is not None:
            result.items.append(item)
    if not seen_header:
        for index, line in enumerate(lines):
            if _ends_items(line) and result.items:
                return index
            item = _item(line, separator, strict=True)
            if item is not None:
                result.items.append(item)
    return end


def _amounts(lines: list[Line], result: Extracted, separator: str) -> None:
    for name, label in (("subtotal", SUBTOTAL_LABEL), ("tax", TAX_LABEL), ("total", TOTAL_LABEL)):
        for line in reversed(lines) if name == "total" else lines:
            first = line.cells[0][1]
            if not label.match(first) or (name == "total" and SUBTOTAL_LABEL.match(first)):
                continue
            numbers, _ = numbers_at_end(line.text, separator)
            if numbers:
                _put(result, name, numbers[-1], 0.85, line)
                break
    items = result.items
    total, tax = result.fields.get("total"), result.fields.get("tax")
    if items and total is not None:
        # The amounts agree with each other: more confidence in each of them.
        lines_sum = sum((item.amount for item in items), Decimal(0))
        if lines_sum + (tax.value if tax else 0) == total.value:
            result.fields["total"] = Found(total.value, 0.98, total.page, total.line)
