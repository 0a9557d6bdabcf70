"""An invoice's fields and line items from its pages, each with a confidence built from its evidence.

Confidence is not a constant per rule: a value starts from how it was found (a label that names the
field, or a weak one like "Date"; to the right of the label or below it; a format that can be read
one way only) and then gains or loses by agreement with the rest of the document (the arithmetic
of items, subtotal, taxes and total; the issue date before the due date). The thresholds were
calibrated on the corpus (docs/parser.md): values reported at 0.9 or more are right at least 98
times in 100. Whatever is unsure becomes a review reason a person reads in the API.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from invoice_api.reading import currencies, line_items, vocabulary
from invoice_api.reading.dates import dates_in, order_of
from invoice_api.reading.labels import Labelled, find
from invoice_api.reading.layout import lines_of
from invoice_api.reading.line_items import read_table, rows_that_add_up
from invoice_api.reading.numbers import amount_in, decimal_mark, numbers_in, percentage_in
from invoice_api.reading.parties import find_vendor
from invoice_api.reading.records import DocumentType, Field, Item, Reading
from invoice_api.reading.totals import Candidate, Choice, reconcile

if TYPE_CHECKING:
    from invoice_api.pdftext import Page
    from invoice_api.reading.layout import Line

REVIEW_BELOW = 0.8
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]{0,39}")
_AMOUNT_KINDS = ("subtotal", "tax", "total", "discount", "fee")
# Fewer words than this on pages that draw an image: a scanner's stamp, not the invoice's text.
SCAN_WORDS = 25


def prepare() -> None:
    """Build the matchers before the reading child is forked, so each child starts with them."""
    vocabulary.labels(), vocabulary.parties(), vocabulary.titles(), vocabulary.columns()
    vocabulary.carry_over(), vocabulary.legal_forms(), vocabulary.months(), currencies.codes()
    vocabulary.payment_terms()
    dates_in("1 January 2026", "dmy")
    line_items.prepare()


def read(pages: list[Page]) -> Reading:
    reading = Reading()
    scan = scan_reason(pages)
    if scan is not None:
        reading.scan = scan
        return reading
    lines = lines_of(pages)
    whole = "\n".join(line.text for line in lines)
    mark = decimal_mark(whole)
    ends = [_opens_with_totals_label(line) for line in lines]
    table = read_table(lines, mark, ends)
    if table.first is None:
        table = rows_that_add_up(lines, mark, ends)
    # The table's lines are not labels' values ("Total" heads its amount column).
    last_row = max(table.lines, default=table.first or 0)
    region = (
        set(range(table.first, table.end if table.end is not None else last_row + 1))
        if table.first is not None
        else set()
    )
    labelled = find(lines, skip=region)
    reading.language = _language(labelled)
    reading.document_type = _document_type(lines)
    header_end = table.first if table.first is not None else min(len(lines), 40)
    _invoice_number(lines, labelled, reading, header_end)
    currency = _currency(lines, labelled, reading, whole)
    month_first = reading.language == "en" and currency in ("USD", None)
    order = order_of([line.text for line in lines[:200]], month_first_locale=month_first)
    _dates(lines, labelled, reading, order, header_end)
    if "due_date" not in reading.fields:
        _due_from_terms([line for index, line in enumerate(lines) if index not in region], reading)
    _by_elimination(lines, reading, order, header_end)
    vendor = find_vendor(lines, min(header_end, 40))
    if vendor is not None:
        line = lines[vendor.line]
        reading.fields["vendor"] = Field(vendor.name, vendor.confidence, line.page, line.number, vendor.evidence)
    below_table = table.end if table.end is not None else (last_row + 1 if table.first is not None else 0)
    decimals = currencies.minor_units(currency) if currency else 2
    sums = _sums_among_items(lines, table.items)
    if sums:
        # Rows taken out of the items are totals now: their labels (a discount, a fee) count.
        rows = {index for _, index, _ in sums}
        labelled = [*labelled, *find(lines, skip=set(range(len(lines))) - rows)]
        below_table = min(rows)
    unlabelled = sums + _unlabelled_amounts(lines, labelled, below_table, mark, decimals)
    _amounts(lines, labelled, reading, table.items, mark, decimals, unlabelled)
    _sign(reading)
    _review(reading)
    return reading


def scan_reason(pages: list[Page]) -> str | None:
    """Why the text layer cannot be the invoice, if it cannot: none at all, or a few words over an
    image and not one amount among them (a short receipt with a logo still has its amounts)."""
    words = sum(len(fragment.text.split()) for page in pages for fragment in page.fragments)
    images = sum(page.images for page in pages)
    if words == 0:
        return "The PDF has no text layer: it is a scan or a picture of the invoice; enter it by hand."
    if not images or words >= SCAN_WORDS * len(pages):
        return None
    text = " ".join(fragment.text for page in pages for fragment in page.fragments)
    if not any(number.decimals == 2 for mark in (".", ",") for number in numbers_in(text, mark)):
        return (
            f"The PDF is a scan: its only text is {words} word(s) over an image (a stamp or a scanner's "
            "note), not the invoice's text; enter it by hand."
        )
    return None


def _opens_with_totals_label(line: Line) -> bool:
    hits = vocabulary.labels().hits(line.cells[0].folded)
    if not hits or hits[0].start > 0:
        return False
    return hits[0].term.kind in ("subtotal", "total", "tax") and len(line.cells) <= 4


def _language(labelled: list[Labelled]) -> str | None:
    counts: Counter[str] = Counter()
    for label in labelled:
        for language in label.languages:
            counts[language] += 2 if label.strong else 1
    return counts.most_common(1)[0][0] if counts else None


def _document_type(lines: list[Line]) -> DocumentType:
    matcher = vocabulary.titles()
    for line in lines[:60]:
        for cell in line.cells:
            for hit in matcher.hits(cell.folded)[:1]:
                if hit.term.kind == "credit_note" and hit.start == 0:
                    return "credit_note"
    return "invoice"


def _put(
    reading: Reading, name: str, value: str | date | Decimal, confidence: float, line: Line, *evidence: str
) -> None:
    reading.fields[name] = Field(value, round(min(confidence, 0.99), 2), line.page, line.number, tuple(evidence))


def _invoice_number(lines: list[Line], labelled: list[Labelled], reading: Reading, header_end: int) -> None:
    found: list[tuple[float, str, int, str]] = []
    for label in labelled:
        if label.kind != "invoice_number":
            continue
        token = _reference(label.value)
        if token:
            score = (0.95 if label.strong else 0.7) - (0.03 if label.placement == "below" else 0.0)
            found.append((score, token, label.value_line, f"labelled ({label.placement})"))
    matcher = vocabulary.titles()
    for index in range(min(header_end, len(lines))):
        for cell in lines[index].cells:
            hits = matcher.hits(cell.folded)
            if hits and hits[0].start == 0:
                token = _reference(cell.text[hits[0].end :])
                if token:
                    found.append((0.85, token, index, "after the document's title"))
    if not found:
        return
    values = Counter(token for _, token, _, _ in found)
    score, token, index, how = max(found, key=lambda f: (f[0], values[f[1]]))
    if len(values) > 1 and any(s >= score - 0.05 and t != token for s, t, _, _ in found):
        score -= 0.2
        reading.review_reasons.append(f"More than one invoice number is printed: {', '.join(sorted(values))}.")
    elif values[token] > 1:
        score += 0.03
    _put(reading, "invoice_number", token, score, lines[index], how)


_NUMBER_WORDS = frozenset({"no", "nr", "n°", "nº", "#", "num", "number"})


def _reference(text: str) -> str | None:
    """The reference a label or title introduces: the first of the next three words that has a
    digit and is not a date, past words like "No." or another label; None at any other word."""
    for part in text.split()[:3]:
        part = part.strip(".,;:#()")
        if _REFERENCE.fullmatch(part) and any(char.isdigit() for char in part) and not dates_in(part, "dmy"):
            return part
        folded = vocabulary.fold(part)
        if part and folded not in _NUMBER_WORDS and vocabulary.labels().whole(folded) is None:
            return None
    return None


def _currency(lines: list[Line], labelled: list[Labelled], reading: Reading, whole: str) -> str | None:
    for label in labelled:
        if label.kind == "currency":
            code = currencies.code_in(label.value)
            if code:
                _put(reading, "currency", code, 0.97, lines[label.value_line], "labelled")
                return code
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    dollar = currencies.dollar_of(whole) if "$" in whole else "USD"  # once: the document's, not each sign's
    for index, line in enumerate(lines):
        for code, _ in currencies.codes_beside_amounts(line.text):
            counts[code] += 1
            first.setdefault(code, index)
        for symbol in currencies.symbols_in(line.text):
            code = currencies.SYMBOLS.get(symbol) or dollar
            counts[code] += 1
            first.setdefault(code, index)
    if not counts:
        return None
    (code, count), *others = counts.most_common()
    confidence = 0.97 if count > 1 else 0.9
    evidence = ["beside the amounts"]
    if "$" in whole and code == dollar and not re.search(rf"\b{code}\b|US\$", whole):
        confidence, evidence = 0.8, ["a $ sign, read from the document's country words"]
    if others and others[0][1] * 3 > count:
        confidence = 0.6
        reading.review_reasons.append(f"Amounts are shown in more than one currency ({code}, {others[0][0]}).")
    _put(reading, "currency", code, confidence, lines[first[code]], *evidence)
    return code


def _dates(lines: list[Line], labelled: list[Labelled], reading: Reading, order: str, header_end: int) -> None:
    for name in ("issue_date", "due_date"):
        best = _best_labelled_date(labelled, name, order)
        if best is not None:
            _put(reading, name, best[1], best[0], lines[best[2]], *best[3])
    if "issue_date" not in reading.fields:
        _issue_date_after_number(lines, reading, order)
    if "issue_date" not in reading.fields:
        dated = [
            (index, found)
            for index in range(min(header_end, len(lines)))
            for found in dates_in(lines[index].text, order)
        ]
        if len(dated) == 1:
            index, only = dated[0]
            _put(reading, "issue_date", only.value, 0.6, lines[index], "the only date in the header")
    issue, due = reading.fields.get("issue_date"), reading.fields.get("due_date")
    if issue is not None and due is not None and _before(due.value, issue.value):
        reading.review_reasons.append("The due date is before the issue date.")
        for name, field in (("issue_date", issue), ("due_date", due)):
            reading.fields[name] = Field(
                field.value, 0.5, field.page, field.line, (*field.evidence, "due before issue")
            )


def _best_labelled_date(
    labelled: list[Labelled], name: str, order: str
) -> tuple[float, date, int, tuple[str, ...]] | None:
    """(score, date, line, evidence) of the surest date under a label of `name`, if any."""
    best: tuple[float, date, int, tuple[str, ...]] | None = None
    for label in labelled:
        read = dates_in(label.value, order) if label.kind == name else []
        if not read:
            continue
        earliest = read[0]
        score = 0.96 if label.strong else 0.9 if label.at_start else 0.75
        evidence = [f"labelled ({'strong' if label.strong else 'weak'}, {label.placement})"]
        if earliest.ambiguous:
            score -= 0.02
            evidence.append("day and month read in the document's order")
        if best is None or score > best[0]:
            best = (score, earliest.value, label.value_line, tuple(evidence))
    return best


def _issue_date_after_number(lines: list[Line], reading: Reading, order: str) -> None:
    """ "Rechnung Nr. 15 vom 5.3.2026", "Fattura n. 15 del 05/03/2026", "Invoice 15 dated ..."."""
    number = reading.fields.get("invoice_number")
    if number is None:
        return
    index = next(i for i, line in enumerate(lines) if (line.page, line.number) == (number.page, number.line))
    text = lines[index].text
    after = text[text.find(str(number.value)) + len(str(number.value)) :]
    found = dates_in(after, order)
    if found:
        _put(reading, "issue_date", found[0].value, 0.85, lines[index], "after the invoice number on its line")


def _due_from_terms(lines: list[Line], reading: Reading) -> None:
    """No due date printed: the payment terms ("Net 30", "zahlbar innerhalb 14 Tagen") and the
    issue date give one. Only when the document states one term (outside the item table, where
    "2 days" is a quantity); never trusted without review."""
    issue = reading.fields.get("issue_date")
    if issue is None or not isinstance(issue.value, date):
        return
    pattern = vocabulary.payment_terms()
    found: set[int] = set()
    where: Line | None = None
    for line in lines:
        for match in pattern.finditer(vocabulary.fold(line.text)):
            found.add(int(match["net"] or match["days"]))
            where = where or line
    if len(found) == 1 and where is not None and 0 < (days := found.pop()) <= 180:
        due = issue.value + timedelta(days=days)
        _put(reading, "due_date", due, 0.8, where, f"the issue date plus the payment terms' {days} days")


_KEY_VALUE = re.compile(r"^(?P<key>[^\W\d_][^:\d]{0,30}?)\s*[:#]\s*(?P<value>\S.*)$")


def _unnamed_pairs(lines: list[Line], header_end: int) -> list[tuple[str, str, int]]:
    """(label, value, line index) in the header whose label the vocabulary does not know:
    "Ref.: NL-77" in a cell, or a short word-only cell followed by a cell with digits."""
    pairs = []
    matcher = vocabulary.labels()
    for index in range(min(header_end, len(lines))):
        cells = lines[index].cells
        for number, cell in enumerate(cells):
            match = _KEY_VALUE.match(cell.text)
            if match:
                key, value = match["key"], match["value"]
            elif number + 1 < len(cells) and len(cell.text) <= 30 and not any(c.isdigit() for c in cell.text):
                key, value = cell.text, cells[number + 1].text
            else:
                continue
            if not matcher.hits(vocabulary.fold(key)) and any(char.isdigit() for char in value):
                pairs.append((key.strip(), value.strip(), index))
    return pairs


def _by_elimination(lines: list[Line], reading: Reading, order: str, header_end: int) -> None:
    """Fields no known label gave, from the header's other "label: value" pairs: a reference is the
    invoice number, dates are the issue date and then the due date. A guess for a person to check."""
    missing = [name for name in ("invoice_number", "issue_date", "due_date") if name not in reading.fields]
    if not missing:
        return
    dates: list[tuple[date, str, int]] = []
    references: list[tuple[str, str, int]] = []
    for key, value, index in _unnamed_pairs(lines, header_end):
        found = dates_in(value, order)
        if found:
            dates.append((found[0].value, key, index))
        elif (token := _reference(value)) and any(char.isalpha() or char in "-/." for char in token):
            references.append((token, key, index))
    if "invoice_number" in missing and len(references) == 1:
        token, key, index = references[0]
        _put(reading, "invoice_number", token, 0.6, lines[index], f"the only reference in the header ({key})")
    _dates_by_elimination(lines, reading, missing, dates)


def _dates_by_elimination(
    lines: list[Line], reading: Reading, missing: list[str], dates: list[tuple[date, str, int]]
) -> None:
    """The issue date is the earliest date left, the due date the latest; each after/before the other."""
    known: dict[str, date] = {
        name: printed
        for name in ("issue_date", "due_date")
        if name in reading.fields and isinstance(printed := reading.fields[name].value, date)
    }
    unused = sorted({(when, key, index) for when, key, index in dates if when not in known.values()})
    for name in ("issue_date", "due_date"):
        if name not in missing or not unused:
            continue
        when, key, index = unused.pop(0) if name == "issue_date" else unused.pop()
        other = known.get("due_date" if name == "issue_date" else "issue_date")
        if other is not None and (when > other if name == "issue_date" else when < other):
            continue
        _put(reading, name, when, 0.55, lines[index], f"a date in the header under an unknown label ({key})")
        known[name] = when


def _before(a: object, b: object) -> bool:
    return isinstance(a, date) and isinstance(b, date) and a < b


def _amount(text: str, mark: str, decimals: int) -> Decimal | None:
    for found in dates_in(text, "dmy"):
        text = text[: found.start] + " " * (found.end - found.start) + text[found.end :]
    number = amount_in(text, mark)
    # An amount of money has the currency's decimals; a bare "12" beside "Total" is a count.
    if number is None or (number.decimals != decimals and not number.grouped and decimals != 0):
        return None
    return number.value


def _breakdown(label: Labelled, mark: str, decimals: int, printed: str) -> list[Candidate]:
    """A label heading a column of amounts (a tax breakdown table: one row per rate): each row after
    the first, and the net column's sum, are candidates too; reconciliation picks what adds up."""
    if label.placement == "none" or len(label.column) < 2 or label.kind not in ("subtotal", "tax", "total"):
        return []
    rows = [(_amount(text, mark, decimals), line) for text, line in label.column]
    values = [(value, line) for value, line in rows if value is not None]
    if len(values) < 2 or len(values) != len(rows):
        return []
    more = [Candidate(label.kind, value, label.strong, line, None, printed) for value, line in values[1:]]
    # The net column's sum is the subtotal a breakdown implies (taxes are summed by reconciliation
    # itself). A total is only ever what the document prints: the amount to pay is not inferred.
    if label.kind == "subtotal":
        total = sum((value for value, _ in values), Decimal(0))
        more.append(Candidate(label.kind, total, label.strong, values[-1][1], None, printed))
    return more


def _sums_among_items(lines: list[Line], items: list[Item]) -> list[tuple[Decimal, int, str]]:
    """Amount-only rows at the end of the items, the first of them the sum of the items above it,
    are the totals under labels we do not know ("Goods 1,234.00", "Levy 234.00"): taken out of the
    items and offered as amounts."""
    running = Decimal(0)
    for at, item in enumerate(items):
        tail = items[at:]
        if at and running == item.amount and all(row.quantity == 1 and row.unit_price == row.amount for row in tail):
            del items[at:]
            where = {(line.page, line.number): index for index, line in enumerate(lines)}
            return [(row.amount, where[row.page, row.line], row.description) for row in tail]
        running += item.amount
    return []


def _unlabelled_amounts(
    lines: list[Line], labelled: list[Labelled], start: int, mark: str, decimals: int
) -> list[tuple[Decimal, int, str]]:
    """Amounts below the item table on lines no known label explains: (amount, line, its words)."""
    explained = {label.line for label in labelled} | {label.value_line for label in labelled}
    ignored = vocabulary.labels()
    found = []
    for index in range(start, min(len(lines), start + 40)):
        if index in explained:
            continue
        line = lines[index]
        if any(hit.term.kind == "ignore" for hit in ignored.hits(vocabulary.fold(line.text))):
            continue
        value = _amount(line.text, mark, decimals)
        words = " ".join(cell.text for cell in line.cells if not any(char.isdigit() for char in cell.text))
        if value is not None:
            found.append((value, index, words.strip(" :")))
    return found


def _amounts(
    lines: list[Line],
    labelled: list[Labelled],
    reading: Reading,
    items: list[Item],
    mark: str,
    decimals: int,
    unlabelled: list[tuple[Decimal, int, str]],
) -> None:
    candidates = _amount_candidates(lines, labelled, mark, decimals, unlabelled)
    items_sum = sum((item.amount for item in items), Decimal(0)) if items else None
    choice = reconcile(candidates, items_sum)
    _drop_unconfirmed(choice)
    _put_amounts(reading, lines, choice, items_sum)
    reading.review_reasons.extend(choice.reasons)
    for name, candidate in (("subtotal", choice.subtotal), ("total", choice.total)):
        if candidate is not None and candidate.unlabelled and name in reading.fields:
            shown = f" ({candidate.label})" if candidate.label else ""
            reading.review_reasons.append(
                f"The {name} was found by the arithmetic, under a label we do not know{shown}."
            )
    _with_adjustments(reading, lines, items, choice)


def _amount_candidates(
    lines: list[Line], labelled: list[Labelled], mark: str, decimals: int, unlabelled: list[tuple[Decimal, int, str]]
) -> list[Candidate]:
    """Every amount that may be the subtotal, a tax, a discount or the total, for reconciliation."""
    candidates: list[Candidate] = []
    for label in labelled:
        candidate = _labelled_amount(lines, label, mark, decimals)
        if candidate is not None:
            candidates.append(candidate)
            candidates.extend(_breakdown(label, mark, decimals, label.printed))
    # A field no known label gave may be an amount printed under a label we do not know.
    for kind in ("subtotal", "total", "tax"):
        if not any(candidate.kind == kind for candidate in candidates):
            candidates.extend(
                Candidate(kind, value, False, index, None, words, unlabelled=True) for value, index, words in unlabelled
            )
    return candidates


def _labelled_amount(lines: list[Line], label: Labelled, mark: str, decimals: int) -> Candidate | None:
    """The amount beside (or else under) a label of an amount, if it has one."""
    if label.kind not in _AMOUNT_KINDS:
        return None
    value = _amount(label.value, mark, decimals)
    line = label.value_line
    if value is None and label.under:
        value, line = _amount(label.under, mark, decimals), label.under_line
    if value is None:
        return None
    if label.kind == "discount":
        value = -abs(value)
    rate = percentage_in(lines[label.line].text, mark) if label.kind == "tax" else None
    return Candidate(label.kind, value, label.strong, line, rate, label.printed)


def _drop_unconfirmed(choice: Choice) -> None:
    """Unnamed amounts count only when they make the arithmetic of named ones (or of the items)
    hold: never a guess on their own."""
    chosen = [c for c in (choice.total, choice.subtotal, *choice.taxes) if c is not None]
    if choice.total_agrees and not all(candidate.unlabelled for candidate in chosen):
        return
    choice.total = None if choice.total and choice.total.unlabelled else choice.total
    choice.subtotal = None if choice.subtotal and choice.subtotal.unlabelled else choice.subtotal
    choice.taxes = [tax for tax in choice.taxes if not tax.unlabelled]


def _confidence(candidate: Candidate, choice: Choice, items_sum: Decimal | None) -> tuple[float, str]:
    """How sure an amount is, and why: by how much of the arithmetic it takes part in."""
    full = choice.total_agrees and choice.items_agree
    arithmetic = "items, subtotal, taxes and total add up" if full else "subtotal and taxes add up to the total"
    if candidate.unlabelled:
        unnamed = f"under a label we do not know ({candidate.label or 'none'})"
        return (0.85 if full else 0.6), f"{unnamed}; {arithmetic}"
    if full:
        return 0.99, arithmetic
    if choice.total_agrees and items_sum is None:
        return 0.95, arithmetic
    if choice.total_agrees:
        # The amounts agree with each other but not with the items: one side is misread.
        return 0.75, f"{arithmetic}, but the items do not"
    return (0.7 if candidate.strong else 0.55), "labelled; the arithmetic does not confirm it"


def _put_amounts(reading: Reading, lines: list[Line], choice: Choice, items_sum: Decimal | None) -> None:
    if choice.total is not None:
        score, how = _confidence(choice.total, choice, items_sum)
        if choice.total_disputed:
            score, how = min(score, 0.6), f"{how}; another total is printed below it"
        _put(reading, "total", choice.total.value, score, lines[choice.total.line], how)
    if choice.subtotal is not None:
        score, how = _confidence(choice.subtotal, choice, items_sum)
        _put(reading, "subtotal", choice.subtotal.value, score, lines[choice.subtotal.line], how)
    tax = choice.tax
    if tax is not None:
        anchor = choice.tax_total or choice.taxes[0]
        score, how = _confidence(anchor, choice, items_sum)
        _put(reading, "tax", tax, score, lines[anchor.line], how)
        reading.taxes = choice.breakdown()


def _with_adjustments(reading: Reading, lines: list[Line], items: list[Item], choice: Choice) -> None:
    """The items, then the adjustments reconciliation found (discounts, shipping), each as sure as
    the arithmetic makes it."""
    adjustments = [
        Item(
            description=a.label or "Adjustment",
            quantity=Decimal(1),
            unit_price=a.value,
            amount=a.value,
            page=lines[a.line].page,
            line=lines[a.line].number,
            confidence=0.95 if choice.total_agrees else 0.6,
        )
        for a in choice.adjustments
    ]
    reading.items = [*items, *adjustments]
    if reading.items:
        agree = choice.items_agree
        reading.items = [_confirmed(item) if agree else _unsure(item) for item in reading.items]
        reading.items_confidence = min(item.confidence for item in reading.items)


def _confirmed(item: Item) -> Item:
    """The items add up: each amount is confirmed by the sum. A row whose own arithmetic holds is
    then all but certain; one printed as an amount alone (a discount) has nothing else to be wrong;
    one whose arithmetic fails keeps its doubt about quantity or unit price."""
    confidence = 0.97 if item.confidence >= 0.9 else 0.95 if item.confidence >= 0.8 else item.confidence
    return replace(item, confidence=confidence)


def _unsure(item: Item) -> Item:
    return replace(item, confidence=min(item.confidence, 0.6))


def _sign(reading: Reading) -> None:
    """A credit note's amounts are what the issuer owes: negative, however they are printed."""
    if reading.document_type != "credit_note":
        return
    for name in ("subtotal", "tax", "total"):
        found = reading.fields.get(name)
        if found is not None and isinstance(found.value, Decimal):
            reading.fields[name] = Field(-abs(found.value), found.confidence, found.page, found.line, found.evidence)
    reading.items = [
        Item(
            i.description, abs(i.quantity), -abs(i.unit_price), -abs(i.amount), i.page, i.line, i.confidence, i.tax_rate
        )
        for i in reading.items
    ]


NAMES = {
    "vendor": "vendor",
    "invoice_number": "invoice number",
    "issue_date": "issue date",
    "due_date": "due date",
    "currency": "currency",
    "subtotal": "subtotal",
    "tax": "tax",
    "total": "total",
}


def _review(reading: Reading) -> None:
    for name in ("vendor", "invoice_number", "issue_date", "total"):
        if name not in reading.fields:
            reading.review_reasons.append(f"No {NAMES[name]} was found.")
    for name, found in reading.fields.items():
        if found.confidence < REVIEW_BELOW:
            reason = f"The {NAMES.get(name, name)} is uncertain ({found.confidence:.2f}): {'; '.join(found.evidence)}."
            reading.review_reasons.append(reason)
    # One reason once, in the order found.
    reading.review_reasons = list(dict.fromkeys(reading.review_reasons))
