"""Subtotal, taxes and total chosen by reconciliation, not by position.

Every labelled amount is a candidate. The chosen set is the one whose arithmetic holds:
items → subtotal, subtotal + fees - discounts + taxes → total (or items + taxes → total when no
subtotal is printed). A pre-tax row labelled only "Total" is then a subtotal, a "Total VAT" line that
repeats the sum of a breakdown is not counted twice, and a total is found wherever it is printed.
Each amount's confidence says how much of that arithmetic it took part in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from invoice_api.reading.records import Tax

if TYPE_CHECKING:
    from collections.abc import Sequence

TOLERANCE = Decimal("0.02")  # rounding per tax line and per item, in the currency's minor unit


@dataclass(frozen=True)
class Candidate:
    kind: str  # subtotal, tax, total, discount, fee
    value: Decimal
    strong: bool
    line: int  # index into the document's lines
    rate: Decimal | None = None
    label: str = ""  # as printed (a discount or fee becomes a line item named by it)
    # An amount under a label we do not know, considered only where the arithmetic needs it.
    unlabelled: bool = False


@dataclass
class Choice:
    subtotal: Candidate | None = None
    taxes: list[Candidate] = field(default_factory=list)
    tax_total: Candidate | None = None  # a printed sum of the taxes, when there is one
    total: Candidate | None = None
    adjustments: list[Candidate] = field(default_factory=list)
    items_agree: bool = False  # the items add up to the subtotal (or to the total)
    total_agrees: bool = False  # subtotal + adjustments + taxes = total
    # Another amount printed below the chosen total, under a total's label, says something else.
    total_disputed: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def tax(self) -> Decimal | None:
        if self.tax_total is not None:
            return self.tax_total.value
        if not self.taxes:
            return None
        return sum((tax.value for tax in self.taxes), Decimal(0))

    def breakdown(self) -> list[Tax]:
        return [Tax(tax.rate, tax.value) for tax in self.taxes]


def _close(a: Decimal, b: Decimal, slack: int = 1) -> bool:
    return abs(a - b) <= TOLERANCE * slack


def _tax_options(taxes: list[Candidate]) -> list[tuple[list[Candidate], Candidate | None]]:
    """Ways to read the tax lines: all of them as a breakdown, or one of them as the sum of the rest."""
    distinct: list[Candidate] = []
    for tax in taxes:
        # The same amount read twice from one line (two labels before it) is one tax line.
        if not any(tax.line == seen.line and tax.value == seen.value for seen in distinct):
            distinct.append(tax)
    options: list[tuple[list[Candidate], Candidate | None]] = [(distinct, None)]
    for total in distinct:
        rest = [tax for tax in distinct if tax is not total]
        if rest and _close(sum((tax.value for tax in rest), Decimal(0)), total.value, len(rest)):
            options.insert(0, (rest, total))
    if len(distinct) > 1:
        options.extend(([tax], None) for tax in distinct)
    options.append(([], None))
    return options


def reconcile(candidates: Sequence[Candidate], items_sum: Decimal | None) -> Choice:
    totals = [c for c in candidates if c.kind == "total"][-8:]
    subtotals = [c for c in candidates if c.kind == "subtotal"][-4:]
    taxes = [c for c in candidates if c.kind == "tax"][-8:]
    adjustments = [c for c in candidates if c.kind in ("discount", "fee")][-6:]
    best: tuple[float, Choice] | None = None
    total_options: list[Candidate | None] = [*totals] or [None]
    # A pre-tax row labelled "Total" can be the subtotal of the total below it.
    subtotal_options: list[Candidate | None] = [*subtotals, *(t for t in totals if not t.strong), None]
    for total, subtotal, (tax_lines, tax_total), with_adjustments in itertools.product(
        total_options, subtotal_options, _tax_options(taxes), (True, False)
    ):
        if _one_amount_twice(subtotal, total):
            continue
        used = adjustments if with_adjustments else []
        choice = Choice(subtotal, tax_lines, tax_total, total, used)
        score = _score(choice, items_sum)
        if best is None or score > best[0]:
            best = (score, choice)
    assert best is not None
    choice = best[1]
    _dispute(choice, totals)
    _explain(choice, items_sum)
    return choice


def _one_amount_twice(subtotal: Candidate | None, total: Candidate | None) -> bool:
    """Whether the subtotal and total would be one printed amount, which cannot be both."""
    if subtotal is None or total is None:
        return False
    return subtotal is total or ((subtotal.unlabelled or total.unlabelled) and subtotal.line == total.line)


def _dispute(choice: Choice, totals: list[Candidate]) -> None:
    """Another total printed below the chosen one, as strongly labelled, that says something else."""
    if choice.total is None:
        return
    chosen = choice.total
    later = [t for t in totals if t.line > chosen.line and t.value != chosen.value and t.strong >= chosen.strong]
    if later:
        choice.total_disputed = True
        choice.reasons.append(f"Two totals are printed: {chosen.value} adds up, but {later[-1].value} is below it.")


def _score(choice: Choice, items_sum: Decimal | None) -> float:
    score = 0.0
    # An unnamed amount must earn its place by the arithmetic alone.
    score -= 1.5 * sum(c.unlabelled for c in (choice.total, choice.subtotal, *choice.taxes) if c is not None)
    adjustment = sum((a.value for a in choice.adjustments), Decimal(0))
    slack = 1 + len(choice.taxes)
    if choice.total is not None:
        score = _total_score(score, choice, choice.total, items_sum, adjustment, slack)
    if choice.subtotal is not None:
        score = _subtotal_score(score, choice, choice.subtotal, items_sum, adjustment, slack)
    elif items_sum is not None and choice.total_agrees:
        choice.items_agree = True
    score += 0.5 * len(choice.taxes) + (0.3 if choice.tax_total else 0.0)
    if choice.adjustments and not choice.total_agrees:
        score -= 1.0
    return score


def _total_score(
    score: float, choice: Choice, total: Candidate, items_sum: Decimal | None, adjustment: Decimal, slack: int
) -> float:
    """`score` plus what the total adds: its label, and the arithmetic it closes (added in this
    order, so equal choices compare as they always have)."""
    score += 2.0 if total.strong else 1.0
    base = choice.subtotal.value if choice.subtotal is not None else items_sum
    if base is not None and _close(base + adjustment + (choice.tax or Decimal(0)), total.value, slack):
        choice.total_agrees = True
        score += 6.0
    elif items_sum is not None and _close(items_sum, total.value, slack):
        choice.total_agrees = choice.items_agree = True  # gross items, taxes included
        score += 4.0
    # Among equals, the total printed last and the larger is the amount to pay.
    return score + total.line * 1e-4


def _subtotal_score(
    score: float, choice: Choice, subtotal: Candidate, items_sum: Decimal | None, adjustment: Decimal, slack: int
) -> float:
    """`score` plus what the subtotal adds: its label, and whether the items add up to it."""
    score += 1.0 if subtotal.strong else 0.2
    if items_sum is not None and (
        _close(items_sum, subtotal.value, slack) or _close(items_sum + adjustment, subtotal.value)
    ):
        choice.items_agree = True
        score += 3.0
    return score


def _explain(choice: Choice, items_sum: Decimal | None) -> None:
    if choice.total is None:
        choice.reasons.append("No total was found.")
        return
    if not choice.total_agrees:
        parts = "the subtotal and taxes" if choice.subtotal is not None else "the line items and taxes"
        choice.reasons.append(f"The total {choice.total.value} is not what {parts} add up to.")
    if items_sum is not None and not choice.items_agree:
        target = choice.subtotal.value if choice.subtotal is not None else choice.total.value
        choice.reasons.append(f"The line items add up to {items_sum}, not {target}.")
