"""Scores the parser on the corpus: per-field accuracy, line-item precision and recall, and the
calibration table (reported confidence against observed accuracy), for each set separately.

    .venv/bin/python -m parser_corpus.score [-v]     (from tests/; `make parser-score`)
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoice_api import pdftext
from invoice_api.reading import invoice

HERE = Path(__file__).parent
FIELDS = ("vendor", "invoice_number", "issue_date", "due_date", "currency", "subtotal", "tax", "total")
BUCKETS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


@dataclass
class Score:
    documents: int = 0
    right: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    items_true: int = 0
    items_found: int = 0
    items_matched: int = 0
    calibration: list[tuple[float, bool]] = field(default_factory=list)
    document_types_right: int = 0
    review: int = 0
    seconds: float = 0.0
    pages: int = 0


def _same(name: str, found: Any, truth: Any) -> bool:
    if name in ("issue_date", "due_date"):
        return isinstance(found, date) and found.isoformat() == truth
    if name in ("subtotal", "tax", "total"):
        return isinstance(found, Decimal) and found == Decimal(truth)
    return bool(found == truth)


def score(folder: str, verbose: bool) -> Score:
    result = Score()
    for path in sorted((HERE / folder).glob("*.pdf")):
        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        started = time.perf_counter()
        pages = pdftext.extract_pages_in_process(path.read_bytes())
        reading = invoice.read(pages)
        result.seconds += time.perf_counter() - started
        result.pages += len(pages)
        result.documents += 1
        result.document_types_right += reading.document_type == truth["document_type"]
        result.review += reading.needs_review
        for name in FIELDS:
            found = reading.fields.get(name)
            right = found is not None and _same(name, found.value, truth["fields"][name])
            result.right[name] += right
            if found is not None:
                result.calibration.append((found.confidence, right))
            if not right:
                result.wrong.append(
                    f"{path.stem}: {name} {found.value if found else None!r} != {truth['fields'][name]!r}"
                )
        wanted = Counter(tuple(item) for item in truth["items"])
        got = Counter(
            (item.description, f"{item.quantity.normalize():f}", str(item.unit_price), str(item.amount))
            for item in reading.items
        )
        wanted = Counter(
            (d, f"{Decimal(q).normalize():f}", str(Decimal(u)), str(Decimal(a))) for d, q, u, a in wanted.elements()
        )
        matched = sum((wanted & got).values())
        result.items_true += sum(wanted.values())
        result.items_found += sum(got.values())
        result.items_matched += matched
        for item in reading.items:
            key = (item.description, f"{item.quantity.normalize():f}", str(item.unit_price), str(item.amount))
            result.calibration.append((item.confidence, wanted[key] > 0))
        if verbose and (got != wanted):
            missing = list((wanted - got).elements())[:3]
            extra = list((got - wanted).elements())[:3]
            result.wrong.append(f"{path.stem}: items missing {missing} extra {extra}")
    return result


def report(name: str, result: Score, verbose: bool) -> None:
    total = result.documents
    print(
        f"\n{name}: {total} invoices, {result.pages} pages, {result.seconds / max(result.pages, 1) * 1000:.1f} ms/page"
    )
    header = sum(result.right.values())
    print(f"  header fields exactly right: {header}/{total * len(FIELDS)} = {header / (total * len(FIELDS)):.1%}")
    for field_name in FIELDS:
        print(f"    {field_name:<15} {result.right[field_name] / total:.1%}")
    precision = result.items_matched / max(result.items_found, 1)
    recall = result.items_matched / max(result.items_true, 1)
    print(
        f"  line items: precision {precision:.1%}, recall {recall:.1%} "
        f"({result.items_matched} of {result.items_true} exactly right, {result.items_found} reported)"
    )
    print(f"  document type right: {result.document_types_right}/{total}; marked for review: {result.review}/{total}")
    print("  calibration of fields and items:")
    print(f"    {'confidence':<32} {'values':>6}   right")
    for low, high in BUCKETS:
        inside = [right for confidence, right in result.calibration if low <= confidence < high]
        if inside:
            bucket = f"[{low:.2f}, {min(high, 1.0):.2f}{')' if high <= 1 else ']'}"
            print(f"    {bucket:<32} {len(inside):>6}   {sum(inside) / len(inside):.1%}")
    trusted = [right for confidence, right in result.calibration if confidence >= 0.9]
    if trusted:
        print(f"  reported at >= 0.90: {len(trusted)} values, {sum(trusted) / len(trusted):.1%} right")
    if verbose:
        for line in result.wrong:
            print("   ", line)


def main() -> None:
    verbose = "-v" in sys.argv
    invoice.prepare()
    for folder in ("train", "heldout", "stress"):
        report(folder, score(folder, verbose), verbose)


if __name__ == "__main__":
    main()
