"""Lines and cells from positioned text fragments, and what lies to the right of or below a cell.

A line is the fragments on one baseline (top to bottom, then left to right: one sort, one pass);
a cell is a run of fragments with no more than a word gap between them. Widths are estimated from
the font size (PDF text carries no reliable widths without the font's metrics), which is enough to
tell columns apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from invoice_api.reading.vocabulary import fold

if TYPE_CHECKING:
    from collections.abc import Iterable

    from invoice_api.pdftext import Fragment, Page

CHAR_WIDTH = 0.52  # average glyph width of a proportional font, in ems


@dataclass(frozen=True)
class Cell:
    x0: float
    x1: float
    text: str
    size: float
    bold: bool

    @cached_property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class Line:
    page: int
    number: int  # 1-based on its page, top to bottom
    y: float  # from the top of the page
    size: float  # the largest font size on the line
    cells: tuple[Cell, ...]

    @property
    def text(self) -> str:
        return " ".join(cell.text for cell in self.cells)


def lines_of(pages: Iterable[Page]) -> list[Line]:
    result: list[Line] = []
    for page in pages:
        rows: list[list[Fragment]] = []
        for fragment in sorted(page.fragments, key=lambda f: (-round(f.y, 1), f.x)):
            if rows and abs(rows[-1][0].y - fragment.y) <= max(1.5, fragment.size * 0.3):
                rows[-1].append(fragment)
            else:
                rows.append([fragment])
        for number, row in enumerate(rows, start=1):
            cells = _cells(sorted(row, key=lambda f: f.x))
            size = max(fragment.size for fragment in row)
            result.append(Line(page.number, number, page.height - row[0].y, size, tuple(cells)))
    return result


def _cells(row: list[Fragment]) -> list[Cell]:
    cells: list[Cell] = []
    parts: list[str] = []
    for fragment in row:
        width = len(fragment.text) * fragment.size * CHAR_WIDTH
        if cells and fragment.x - cells[-1].x1 < fragment.size * 0.9:
            last = cells[-1]
            parts.append(fragment.text)
            cells[-1] = Cell(last.x0, max(last.x1, fragment.x + width), "", max(last.size, fragment.size), last.bold)
        else:
            if cells:
                cells[-1] = _with_text(cells[-1], parts)
            parts = [fragment.text]
            cells.append(Cell(fragment.x, fragment.x + width, "", fragment.size, fragment.bold))
    if cells:
        cells[-1] = _with_text(cells[-1], parts)
    return cells


def _with_text(cell: Cell, parts: list[str]) -> Cell:
    # Joined once per cell: appending to a string per fragment is quadratic on a hostile line.
    return Cell(cell.x0, cell.x1, " ".join(parts).strip(), cell.size, cell.bold)


def overlaps(a: Cell, b: Cell, slack: float = 0.0) -> bool:
    return a.x0 - slack < b.x1 and b.x0 - slack < a.x1


def below(lines: list[Line], index: int, cell: Cell, *, reach: int = 2) -> tuple[int, Cell] | None:
    """The first cell under `cell` (overlapping it across) on the next `reach` lines of its page."""
    line = lines[index]
    for later in range(index + 1, min(index + 1 + reach, len(lines))):
        candidate = lines[later]
        if candidate.page != line.page or candidate.y - line.y > line.size * 4:
            return None
        best = [c for c in candidate.cells if overlaps(c, cell, slack=cell.size)]
        if best:
            return later, min(best, key=lambda c: abs(c.x0 - cell.x0))
    return None
