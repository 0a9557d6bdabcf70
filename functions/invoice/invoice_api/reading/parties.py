"""Who issued the document: the header's blocks told apart, the customer's blocks set aside.

A block under (or after) a buyer heading ("Bill to", "Rechnungsempfänger", "Facturé à", ...) is the
customer's; one under a seller heading ("From", "Lieferant", "Fournisseur", ...) is the issuer's.
Without a seller heading the issuer is the most prominent name of the first page's header: large
or bold type near the top, a legal form (GmbH, Ltd, S.A.), the same name again in the footer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from invoice_api.reading import vocabulary
from invoice_api.reading.dates import dates_in
from invoice_api.reading.labels import is_label
from invoice_api.reading.layout import overlaps

if TYPE_CHECKING:
    from invoice_api.reading.layout import Cell, Line

_NOT_A_NAME = re.compile(r"@|www\.|https?:|\+?\d[\d ()/-]{6,}|\biban\b|\bbic\b", re.IGNORECASE)
_HEADING_SEPARATORS = " :-\u2013"


@dataclass(frozen=True)
class Vendor:
    name: str
    line: int  # index into the document's lines
    confidence: float
    evidence: tuple[str, ...]


def _heading(cell: Cell) -> tuple[str, str] | None:
    """(seller | buyer, the text after the heading in the cell) when the cell opens with a heading."""
    folded = cell.folded
    matcher = vocabulary.parties()
    term = matcher.whole(folded)
    if term is not None:
        return term.kind, ""
    for hit in matcher.hits(folded)[:1]:
        if hit.start == 0 and folded[hit.end : hit.end + 1] == ":":
            return hit.term.kind, cell.text[hit.end + 1 :].strip()
    return None


def _block(lines: list[Line], index: int, cell: Cell, stop: int) -> list[tuple[int, Cell]]:
    """The cells stacked under `cell` (same column, no large gap), up to 6 lines."""
    block: list[tuple[int, Cell]] = []
    previous_y = lines[index].y
    for later in range(index + 1, min(stop, index + 7)):
        line = lines[later]
        if line.page != lines[index].page or line.y - previous_y > line.size * 2.6:
            break
        under = [c for c in line.cells if overlaps(c, cell, slack=4) and abs(c.x0 - cell.x0) < 40]
        if not under or _heading(under[0]) is not None:
            break
        block.append((later, under[0]))
        previous_y = line.y
    return block


def find_vendor(lines: list[Line], header_end: int) -> Vendor | None:
    header = range(min(header_end, len(lines)))
    customer: set[tuple[int, float]] = set()
    for index in header:
        for cell in lines[index].cells:
            heading = _heading(cell)
            if heading is None:
                continue
            kind, rest = heading
            block = _block(lines, index, cell, header_end)
            if kind == "seller":
                name_cell = rest or (block[0][1].text if block else "")
                if name_cell and _name_like(name_cell):
                    line = index if rest else block[0][0]
                    return Vendor(name_cell, line, 0.95, ("under a seller heading",))
            else:
                customer.update((later, c.x0) for later, c in block)
                if rest:
                    customer.add((index, cell.x0))
    return _most_prominent(lines, header, customer)


def _name_like(text: str) -> bool:
    letters = sum(char.isalpha() for char in text)
    return 2 <= len(text) <= 100 and letters >= max(2, len(text) // 2) and not _NOT_A_NAME.search(text)


def _most_prominent(lines: list[Line], header: range, customer: set[tuple[int, float]]) -> Vendor | None:
    if not header:
        return None
    sizes = sorted(cell.size for index in header for cell in lines[index].cells)
    typical = sizes[len(sizes) // 2]
    footer = " ".join(vocabulary.fold(line.text) for line in lines[header.stop :])
    best: tuple[float, int, str, tuple[str, ...]] | None = None
    for index in header:
        line = lines[index]
        if line.page != 1:
            break
        for cell in line.cells:
            if (index, cell.x0) in customer or not _could_name_vendor(cell):
                continue
            score, evidence = _prominence(cell, index, typical, footer)
            if best is None or score > best[0]:
                best = (score, index, cell.text.strip(), evidence)
    if best is None:
        return None
    score, index, text, reasons = best
    confidence = 0.93 if score >= 3.5 else 0.85 if score >= 2.0 else 0.7 if score >= 0.5 else 0.5
    return Vendor(text, index, confidence, ("most prominent name in the header", *reasons))


def _could_name_vendor(cell: Cell) -> bool:
    """A name, and not a title, a label, a heading or a date."""
    text = cell.text.strip()
    if not _name_like(text) or ":" in text:
        return False
    return not (vocabulary.titles().whole(cell.folded) or is_label(cell) or _heading(cell) or dates_in(text, "dmy"))


def _prominence(cell: Cell, index: int, typical: float, footer: str) -> tuple[float, tuple[str, ...]]:
    """How much a cell looks like the letterhead's name, and why."""
    text, folded = cell.text.strip(), cell.folded
    score, evidence = 0.0, list[str]()
    if cell.size > typical * 1.15:
        score += 2.0
        evidence.append("large type")
    if cell.bold:
        score += 1.0
        evidence.append("bold")
    if vocabulary.legal_forms().search(folded):
        score += 2.0
        evidence.append("legal form")
    if len(folded) > 5 and footer.count(folded) >= 1:
        score += 1.0
        evidence.append("named again below")
    if any(char.isdigit() for char in text):
        score -= 1.5
    if cell.size < typical * 0.85:
        score -= 1.0  # a caption, a scanner's stamp or the sender line of a window envelope
    score -= index * 0.15  # nearer the top, more likely the letterhead
    return score, tuple(evidence)
