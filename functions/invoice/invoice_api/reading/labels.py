"""Where the document's labels are, and the text each one introduces (to its right or below it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from invoice_api.reading import vocabulary
from invoice_api.reading.layout import below

if TYPE_CHECKING:
    from invoice_api.reading.layout import Cell, Line

_SEPARATORS = " :#.-\u2013\u2014/\t()"


@dataclass(frozen=True)
class Labelled:
    kind: str
    strong: bool
    languages: frozenset[str]
    line: int  # index into the document's lines
    cell: int
    at_start: bool  # the label opens its cell (not inside a sentence)
    # (text after the label on its line, line index of it, "right" | "below")
    value: str
    value_line: int
    placement: str
    # The cell under the label, for a row of labels with their values beneath ("" when none).
    under: str = ""
    under_line: int = -1
    # Every cell stacked under the label (text, line index): a column of a tax breakdown table.
    column: tuple[tuple[str, int], ...] = ()
    printed: str = ""  # the label's cell as the document writes it ("Discount 5%"), at most 200 characters


def find(lines: list[Line], skip: set[int]) -> list[Labelled]:
    """Every label of a field in the document, with the text it introduces."""
    matcher = vocabulary.labels()
    found: list[Labelled] = []
    for index, line in enumerate(lines):
        if index in skip:
            continue
        for number, cell in enumerate(line.cells):
            folded = cell.folded
            hits = matcher.hits(folded)
            for position, hit in enumerate(hits):
                if hit.term.kind == "ignore":
                    continue
                end = hits[position + 1].start if position + 1 < len(hits) else len(folded)
                rest = cell.text[hit.end : end].strip(_SEPARATORS)
                at_start = not folded[: hit.start].strip(_SEPARATORS)
                value, value_line, placement = _value(lines, index, number, rest, end == len(folded))
                column = _column(lines, index, cell) if at_start and end == len(folded) else ()
                under, under_line = column[0] if column and placement == "right" else ("", -1)
                found.append(
                    Labelled(
                        hit.term.kind,
                        hit.term.strength == "strong",
                        hit.term.languages,
                        index,
                        number,
                        at_start,
                        value,
                        value_line,
                        placement,
                        under,
                        under_line,
                        column,
                        # Bounded: a hostile cell with thousands of labels must not be copied per label.
                        cell.text[:200].strip(" :"),
                    )
                )
    return found


def _column(lines: list[Line], index: int, cell: Cell, limit: int = 8) -> tuple[tuple[str, int], ...]:
    """The cells under `cell`, line after line, up to the first gap, label or `limit` cells."""
    column: list[tuple[str, int]] = []
    while len(column) < limit:
        beneath = below(lines, index, cell, reach=1)
        if beneath is None or is_label(beneath[1]):
            break
        index = beneath[0]
        column.append((beneath[1].text, index))
    return tuple(column)


def _value(lines: list[Line], index: int, number: int, rest: str, last_in_cell: bool) -> tuple[str, int, str]:
    """The rest of the cell, else the following cells (to the next label), else the cell below."""
    line = lines[index]
    if rest:
        following = _following(line, number) if last_in_cell else ""
        return f"{rest} {following}".strip(), index, "right"
    if last_in_cell:
        following = _following(line, number)
        if following:
            return following, index, "right"
    found = below(lines, index, line.cells[number])
    if found is not None and not is_label(found[1]):
        return found[1].text, found[0], "below"
    return "", index, "none"


def _following(line: Line, number: int) -> str:
    parts = []
    for cell in line.cells[number + 1 :]:
        if is_label(cell):
            break
        parts.append(cell.text)
    return " ".join(parts)


def is_label(cell: Cell) -> bool:
    """The cell starts with a label of any kind (so it is not the value of the label before it)."""
    hits = vocabulary.labels().hits(cell.folded)
    return bool(hits) and not cell.folded[: hits[0].start].strip(_SEPARATORS)
