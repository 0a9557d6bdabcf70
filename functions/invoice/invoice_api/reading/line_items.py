"""The item table: its header row names the columns (in any of the seven languages), and each row
below is read column by column, so a unit column, a tax-rate column or numbers inside a
description ("Cable 1,5 m") do not shift the figures. Rows with text only continue the description
above them (wrapped lines); the table goes on across pages, with or without a repeated header, and
ends at the first totals label.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from invoice_api.reading import vocabulary
from invoice_api.reading.numbers import amount_in, numbers_in, percentage_in
from invoice_api.reading.records import Item

if TYPE_CHECKING:
    from invoice_api.reading.layout import Cell, Line

NUMERIC = ("quantity", "unit_price", "tax_rate", "amount")
ENDS_TABLE = ("subtotal", "total", "tax")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    kind: str  # description, quantity, unit, unit_price, tax_rate, amount, or other
    x0: float
    x1: float

    def distance(self, cell: Cell) -> float:
        # Left-, right- or centre-aligned: whichever edge lines up best.
        return min(abs(cell.x0 - self.x0), abs(cell.x1 - self.x1), abs(cell.centre - (self.x0 + self.x1) / 2))


@dataclass
class Table:
    header_lines: set[int] = field(default_factory=set)
    lines: set[int] = field(default_factory=set)  # every line read as part of the table
    items: list[Item] = field(default_factory=list)
    end: int | None = None  # index of the line that ended it (a totals label)
    first: int | None = None  # index of the first header


def header_columns(line: Line) -> list[Column] | None:
    """The columns a header row names, or None when the row is not an item-table header."""
    matcher = vocabulary.columns()
    columns = []
    for cell in line.cells:
        term = matcher.whole(cell.folded) or matcher.whole(_bare(cell.folded))
        if term is not None:
            columns.append(Column(term.kind, cell.x0, cell.x1))
        else:
            columns.extend(_split(cell))
    kinds = [column.kind for column in columns]
    if "description" not in kinds or "amount" not in kinds:
        return None
    if sum(kind in NUMERIC for kind in kinds) < 2 and kinds.count("other") > 1:
        return None
    return columns


# "Amount (EUR)", "Price €", "Total in USD", "Qty." : the column's name without its currency or unit.
_DECORATION = re.compile(r"\([^)]*\)|\[[^\]]*\]|\b(?:in|en|em|in\s+\w+)\s+[a-z]{3}\b|\b[a-z]{3}$|[€$£¥₹%]|[.:*]+$")


def _bare(folded: str) -> str:
    return " ".join(_DECORATION.sub(" ", folded).split())


def _split(cell: Cell) -> list[Column]:
    """Headers of neighbouring columns printed close together read as one cell ("Qty Unit price"):
    when the cell is nothing but column names, each name is a column where its letters are."""
    folded = cell.folded
    hits = vocabulary.columns().hits(folded)
    covered = {position for hit in hits for position in range(hit.start, hit.end)}
    # Every letter must belong to a name; currency signs and brackets between them may not.
    if len(hits) < 2 or any(char.isalpha() and at not in covered for at, char in enumerate(folded)):
        return [Column("other", cell.x0, cell.x1)]
    width = (cell.x1 - cell.x0) / max(len(folded), 1)
    return [Column(hit.term.kind, cell.x0 + hit.start * width, cell.x0 + hit.end * width) for hit in hits]


@dataclass
class _Reader:
    """Where reading the table has got to, line by line."""

    table: Table
    columns: list[Column] | None = None
    previous: int | None = None  # index of the last row that made an item or continued one
    loose: list[str] = field(default_factory=list)  # text-only rows not yet given to an item (wrapped lines)
    paused_on: int | None = None  # the page whose rest (a footer after a gap) is not the table

    def header(self, index: int, columns: list[Column]) -> None:
        _settle(self.table, self.loose)
        self.columns = columns
        self.table.header_lines.add(index)
        self.table.first = index if self.table.first is None else self.table.first
        self.previous, self.loose, self.paused_on = index, [], None

    def skips(self, lines: list[Line], index: int) -> bool:
        """Whether the line is no row: the rest of a page after a gap, or a carried-over subtotal."""
        line = lines[index]
        if self.paused_on == line.page:
            return True
        if vocabulary.carry_over().search(line.cells[0].folded):
            self.table.lines.add(index)
            return True
        previous = self.previous
        if previous is not None and lines[previous].page == line.page and line.y - lines[previous].y > line.size * 4.5:
            self.paused_on = line.page  # a page footer, or notes under the table: until the next page
            return True
        return False

    def row(self, index: int, line: Line, columns: list[Column], mark: str) -> None:
        row = _row(line, columns, mark)
        if row is None:
            return
        description, figures = row
        if not figures:
            if description and _continuation(line, columns) and not _only_column_words(line):
                self.loose.append(description)
                self.table.lines.add(index)
                self.previous = index
            return
        # Loose lines continue the item above, unless they run on into this one ("Installation on
        # site," above "two technicians 2 h 80.00 160.00"): then they open it.
        loose, table = self.loose, self.table
        opens_this = bool(loose) and (not table.items or _runs_on(loose[-1], description))
        if not opens_this:
            _settle(table, loose)
        item = _item(" ".join([*loose, description] if opens_this else [description]).strip(), figures, line, mark)
        self.loose = []
        if item is not None:
            table.items.append(item)
            table.lines.add(index)
            self.previous = index


def read_table(lines: list[Line], mark: str, ends: list[bool]) -> Table:
    """`ends[i]` says line i opens with a subtotal, tax or total label (where the table stops)."""
    reader = _Reader(Table())
    for index, line in enumerate(lines):
        found = header_columns(line) or _two_line_header(lines, index)
        if found is not None:
            reader.header(index, found)
            continue
        if reader.columns is None:
            continue
        if ends[index]:
            reader.table.end = index
            break
        if not reader.skips(lines, index):
            reader.row(index, line, reader.columns, mark)
    _settle(reader.table, reader.loose)
    return reader.table


def _runs_on(before: str, after: str) -> bool:
    """The text `before` goes on in `after`: it ends mid-phrase, or `after` starts mid-sentence."""
    ends_open = before.rstrip().endswith((",", "-", "\u2013", "&", "/", "+"))
    return ends_open or (after[:1].isalpha() and after[:1].islower())


def _settle(table: Table, loose: list[str]) -> None:
    """Loose description lines go to the item above them."""
    if loose and table.items:
        last = table.items[-1]
        table.items[-1] = replace(last, description=" ".join(" ".join([last.description, *loose]).split()))
    loose.clear()


def _row(line: Line, columns: list[Column], mark: str) -> tuple[str, dict[str, Cell]] | None:
    """(description, {numeric column kind: cell}) of a table row. The row's last figure is its
    amount (every item has one; a column the header did not name cannot steal it); the others go
    to the nearest numeric column, left to right."""
    numeric = [column for column in columns if column.kind in NUMERIC]
    first_numeric = min((column.x0 for column in numeric), default=float("inf"))
    figure_cells = [
        cell
        for cell in line.cells
        if cell.centre > first_numeric - 20 and _mostly_figures(cell.text) and numbers_in(cell.text, mark)
    ]
    figures = _figures(figure_cells, numeric)
    text_columns = [column for column in columns if column.kind not in NUMERIC]
    description: list[str] = []
    for cell in line.cells:
        if cell in figure_cells:
            continue
        home = min(text_columns, key=lambda c: c.distance(cell)).kind if text_columns else "description"
        # Text under a unit column ("h", "pcs") or a column we cannot name (an article or HSN code)
        # is not the description.
        if home == "description" and _is_description(columns, cell):
            description.append(cell.text)
    return " ".join(description).strip(), figures


def _figures(figure_cells: list[Cell], numeric: list[Column]) -> dict[str, Cell]:
    """{numeric column kind: cell}: the last amount is the amount; the other figures go to the
    numeric columns left, in the order-keeping match that lines them up best."""
    figures: dict[str, Cell] = {}
    amounts = [cell for cell in figure_cells if "%" not in cell.text]
    if amounts and any(column.kind == "amount" for column in numeric):
        figures["amount"] = amounts[-1]
    rest = [cell for cell in figure_cells if cell is not figures.get("amount")]
    free = [column for column in numeric if column.kind not in figures]
    if rest and free:
        count = min(len(rest), len(free))
        pairs = itertools.product(itertools.combinations(free, count), itertools.combinations(rest, count))
        chosen, cells = min(
            pairs, key=lambda pair: sum(column.distance(cell) for column, cell in zip(*pair, strict=True))
        )
        figures.update({column.kind: cell for column, cell in zip(chosen, cells, strict=True)})
    return figures


def prepare() -> None:
    _column_words()


def _two_line_header(lines: list[Line], index: int) -> list[Column] | None:
    """Column names broken over two lines ("Unit" over "price"): each name is the words of both
    lines that stand in one column."""
    if index + 1 >= len(lines) or lines[index + 1].page != lines[index].page:
        return None
    top, bottom = lines[index], lines[index + 1]
    if len(top.cells) < 2 or not _only_column_words(top):
        return None
    if bottom.y - top.y > top.size * 2.5 or not _only_column_words(bottom):
        return None
    matcher = vocabulary.columns()
    columns = []
    for cell in top.cells:
        under = [c.text for c in bottom.cells if c.x0 < cell.x1 + cell.size and cell.x0 - cell.size < c.x1]
        name = vocabulary.fold(" ".join([cell.text, *under]))
        term = matcher.whole(name) or matcher.whole(cell.folded)
        columns.append(Column(term.kind if term else "other", cell.x0, cell.x1))
    kinds = [column.kind for column in columns]
    return columns if "description" in kinds and "amount" in kinds else None


def _only_column_words(line: Line) -> bool:
    words = _column_words()
    return all(word in words for cell in line.cells for word in cell.folded.split())


@cache
def _column_words() -> frozenset[str]:
    return frozenset(word for term in vocabulary.columns().terms for word in term.split())


def rows_that_add_up(lines: list[Line], mark: str, ends: list[bool]) -> Table:
    """Without a header row: lines that end in quantity, unit price and amount with quantity x unit
    price = amount (the arithmetic stands in for the header), up to the first totals label."""
    table = Table()
    for index, line in enumerate(lines):
        if ends[index] and table.items:
            table.end = index
            break
        numbers = [cell for cell in line.cells if _mostly_figures(cell.text) and numbers_in(cell.text, mark)]
        text = [cell.text for cell in line.cells if cell not in numbers]
        if len(numbers) < 3 or not text or line.cells[-1] is not numbers[-1]:
            continue
        quantity, unit, amount = (amount_in(cell.text, mark) for cell in numbers[-3:])
        if quantity is None or unit is None or amount is None or quantity.value <= 0:
            continue
        if abs(quantity.value * unit.value - amount.value) > CENT * max(Decimal(1), quantity.value) / 2 + CENT / 2:
            continue
        description = " ".join(text)
        table.items.append(
            Item(description, quantity.value, unit.value, amount.value, line.page, line.number, confidence=0.85)
        )
        table.lines.add(index)
        table.first = index if table.first is None else table.first
    return table


def _continuation(line: Line, columns: list[Column]) -> bool:
    """A text-only row continues a description when it starts where descriptions start (a centred
    page footer or a note does not) and is not itself a label ("Page 2 of 3", "IBAN ...")."""
    described = [column for column in columns if column.kind == "description"]
    first = line.cells[0]
    if described and abs(first.x0 - described[0].x0) > first.size * 1.5:
        return False
    hits = vocabulary.labels().hits(first.folded)
    return not (hits and hits[0].start == 0)


def _is_description(columns: list[Column], cell: Cell) -> bool:
    described = [column for column in columns if column.kind == "description"]
    if not described:
        return True
    column = described[0]
    # Position numbers and article codes sit in their own columns to the left.
    return cell.x1 > column.x0 - 2


_LETTER = re.compile(r"[^\W\d_]")


def _mostly_figures(text: str) -> bool:
    """A figure with at most a unit or currency beside it ("2 pcs", "EUR 45.00"), not a description."""
    return any(char.isdigit() for char in text) and len(_LETTER.findall(text, 0, 64)) <= 4


def _item(description: str, figures: dict[str, Cell], line: Line, mark: str) -> Item | None:
    amount_cell = figures.get("amount")
    if amount_cell is None or not description:
        return None
    amount = amount_in(amount_cell.text, mark)
    if amount is None:
        return None
    quantity_number = numbers_in(figures["quantity"].text, mark) if "quantity" in figures else []
    quantity = quantity_number[0].value if quantity_number else Decimal(1)
    unit = amount_in(figures["unit_price"].text, mark) if "unit_price" in figures else None
    rate = percentage_in(figures["tax_rate"].text, mark) if "tax_rate" in figures else None
    if rate is None and "tax_rate" in figures:
        plain = numbers_in(figures["tax_rate"].text, mark)
        rate = plain[0].value if plain else None
    unit_price = unit.value if unit is not None else amount.value / quantity if quantity else amount.value
    if quantity == 0:
        return None
    agrees = abs(quantity * unit_price - amount.value) <= CENT * max(Decimal(1), abs(quantity)) / 2 + CENT / 2
    gross = rate is not None and abs(quantity * unit_price * (1 + rate / 100) - amount.value) <= CENT * 2
    if unit is not None and not agrees and not gross:
        confidence = 0.5
    elif unit is None:
        confidence = 0.8  # an amount alone (a discount, a fee, a flat line): nothing to check it by
    else:
        confidence = 0.92
    return Item(
        description=" ".join(description.split()),
        quantity=quantity,
        unit_price=unit_price.quantize(CENT) if unit is None else unit_price,
        amount=amount.value,
        page=line.page,
        line=line.number,
        confidence=confidence,
        tax_rate=rate,
    )
