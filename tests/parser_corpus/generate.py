"""Writes the parser corpus: invoices in twelve layouts, seven languages and fourteen locales, each
PDF beside a truth file (what a careful reader gets from it).

    .venv/bin/python -m parser_corpus.generate     (from tests/; `make parser-corpus`)

`train/` is what the parser was developed against; `heldout/` is drawn with other seeds, another
style (font, size, rules, currency marks) and three more layouts that only it has, and is only
ever scored, to show how the parser does on invoices it has not seen. `stress/` is held-out too, with
labels outside the parser's vocabulary and some totals that do not add up: it shows whether what
the parser gets wrong is reported as unsure. Needs the DejaVu fonts
(Debian's fonts-dejavu-core) for € and other signs the PDF core fonts lack.
"""

from __future__ import annotations

import json
import random
import shutil
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parser_corpus.layouts import LAYOUTS, UNSEEN, Doc, Style
from parser_corpus.locales import LOCALES
from parser_corpus.model import make

if TYPE_CHECKING:
    from parser_corpus.model import Invoice

HERE = Path(__file__).parent
OPTIONS: dict[str, dict[str, Any]] = {
    "multi_page": {"items": (30, 70)},
    "wrapped": {"wrapped": True, "items": (2, 7)},
    "tax_column": {"two_rates": True},
    "adjustments": {"discount": True, "fee": True},
    "breakdown_table": {"two_rates": True, "discount": False, "fee": False},
    "headerless": {"wrapped": False},
    "label_row": {"units": True},
}


# Labels no vocabulary of ours holds, as some issuers write them (the stress set only).
UNKNOWN_LABELS = {
    "number": ("Ref.", "Document ID", "Our ref", "Doc. no"),
    "issue": ("Created", "Raised on", "Billing period end"),
    "due": ("Settle by", "Deadline", "Expiry"),
    "subtotal": ("Merchandise", "Goods", "Services total"),
    "tax": ("Levy", "Duty {rate}%"),
    "total": ("Pay this amount", "Owing", "To settle"),
    "bill_to": ("Attn.", "Account holder"),
}


def _stress(invoice: Invoice, rng: random.Random) -> None:
    """Out-of-vocabulary labels for two fields, and now and then a total that does not add up (a
    printing error the reader must not hide)."""
    for key in rng.sample(sorted(UNKNOWN_LABELS), 2):
        invoice.labels[key] = rng.choice(UNKNOWN_LABELS[key])
    if rng.random() < 0.3:
        invoice.total += Decimal(rng.choice((1, 10, 100)))


def build(folder: str, seed: int, per_layout: int, heldout: bool, stress: bool = False) -> int:
    target = HERE / folder
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    rng = random.Random(seed)
    count = 0
    for _ in range(per_layout):
        for name, layout in ({**LAYOUTS, **UNSEEN} if heldout else LAYOUTS).items():
            locale = LOCALES[(count * 5 + seed) % len(LOCALES)]
            credit = name not in ("adjustments",) and rng.random() < 0.12
            options = dict(OPTIONS.get(name, {}))
            if credit:
                options.update(discount=False, fee=False)
            invoice = make(rng, locale=locale, credit=credit, **options)
            if stress:
                _stress(invoice, rng)
            style = Style(
                font=("helvetica" if heldout else "dejavu")
                if rng.random() < 0.75
                else ("dejavu" if heldout else "helvetica"),
                size=rng.choice((9, 9.5)) if heldout else rng.choice((10, 10.5)),
                ruled=rng.random() < (0.6 if heldout else 0.4),
                symbol_side=rng.choice(("after", "code", "none"))
                if heldout
                else rng.choice(("before", "after", "code")),
            )
            doc = Doc(invoice, style)
            layout(doc, rng)
            stem = f"{count:03d}-{name}-{locale.name}"
            (target / f"{stem}.pdf").write_bytes(bytes(doc.pdf.output()))
            truth = {"layout": name, "locale": locale.name, **invoice.truth()}
            (target / f"{stem}.json").write_text(
                json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
            count += 1
    return count


def main() -> None:
    train = build("train", seed=19, per_layout=6, heldout=False)
    heldout = build("heldout", seed=2027, per_layout=2, heldout=True)
    stress = build("stress", seed=4242, per_layout=2, heldout=True, stress=True)
    print(f"wrote {train} training, {heldout} held-out and {stress} stress invoices under {HERE}")


if __name__ == "__main__":
    main()
