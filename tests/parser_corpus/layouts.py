"""Twelve invoice layouts drawn with fpdf2 from one Invoice: where the parties, the details, the
item table and the totals go, and how they are labelled, differ; the invoice does not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fpdf import FPDF

from parser_corpus.locales import date_text, money, quantity

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from parser_corpus.model import Invoice

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
Align = Literal["L", "R", "C"]


@dataclass
class Style:
    font: str  # "dejavu" or "helvetica" (core font: no € sign, amounts carry the ISO code)
    size: float
    ruled: bool
    symbol_side: str  # "before", "after", "code", "none"


class Doc:
    def __init__(self, invoice: Invoice, style: Style) -> None:
        self.invoice, self.style = invoice, style
        self.pdf = FPDF(format="A4")
        # A fixed creation date: regenerating the corpus gives the same bytes.
        self.pdf.set_creation_date(datetime(2026, 12, 1, tzinfo=UTC))
        self.pdf.set_auto_page_break(auto=False)
        if style.font == "dejavu":
            self.pdf.add_font("dejavu", "", str(DEJAVU / "DejaVuSans.ttf"))
            self.pdf.add_font("dejavu", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
        self.pdf.add_page()
        self.font()

    def font(self, size: float | None = None, bold: bool = False) -> None:
        self.pdf.set_font(self.style.font, style="B" if bold else "", size=size or self.style.size)

    def text(
        self,
        x: float,
        y: float,
        w: float,
        text: str,
        align: Align = "L",
        size: float | None = None,
        bold: bool = False,
        border: Literal[0, 1] = 0,
    ) -> None:
        self.font(size, bold)
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, 6, text, border=border, align=align)

    def border(self) -> Literal[0, 1]:
        return 1 if self.style.ruled else 0

    def label(self, key: str, **values: object) -> str:
        return self.invoice.labels[key].format(**values)

    def money(self, value: object, with_currency: bool = False) -> str:

        amount = Decimal(str(value))
        if self.invoice.credit:
            amount = -abs(amount)
        text = money(amount, self.invoice.locale, self.invoice.decimals)
        if not with_currency or self.style.symbol_side == "none":
            return text
        symbol = self.invoice.locale.symbol
        if self.style.symbol_side == "code" or symbol is None or self.style.font == "helvetica":
            return f"{text} {self.invoice.locale.currency}"
        return f"{symbol}{text}" if self.style.symbol_side == "before" else f"{text} {symbol}"

    def date(self, which: str) -> str:
        return date_text(getattr(self.invoice, which), self.invoice.locale, self.invoice.date_style)

    def title(self) -> str:
        return self.label("credit") if self.invoice.credit else self.label("title")

    def number_label(self) -> str:
        return self.label("credit_number") if self.invoice.credit else self.label("number")

    def meta(self) -> list[tuple[str, str]]:
        rows = [
            (self.number_label(), self.invoice.number),
            (self.label("issue"), self.date("issue")),
            (self.label("due"), self.date("due")),
        ]
        if self.style.symbol_side == "none":
            # Amounts without any currency mark: the document says its currency once, as most do.
            rows.append((self.label("currency"), self.invoice.locale.currency))
        return rows

    def totals(self) -> list[tuple[str, str]]:
        invoice = self.invoice
        rows = [(self.label("subtotal"), self.money(invoice.subtotal))]
        if invoice.discount is not None:
            rows.append((invoice.labels["discount"], self.money(invoice.discount)))
        if invoice.fee is not None:
            rows.append((invoice.labels["fee"], self.money(invoice.fee)))
        tax_label = invoice.labels["tax"]
        for rate, amount in invoice.taxes:
            label = (
                tax_label.format(rate=rate)
                if "{rate}" in tax_label or len(invoice.taxes) == 1
                else f"{tax_label} {rate}%"
            )
            rows.append((label, self.money(amount)))
        rows.append((self.label("total"), self.money(invoice.total, with_currency=True)))
        return rows

    def table(
        self,
        y: float,
        columns: list[tuple[str, float, Align]],
        rows: list[list[str]],
        *,
        x: float = 10,
        bottom: float = 260,
        repeat: bool = True,
        carry: bool = False,
    ) -> float:
        """Draws the header and rows; breaks onto new pages (header repeated) when full. Returns y."""

        def header(y: float) -> float:
            cursor = x
            for name, width, align in columns:
                self.text(cursor, y, width, name, align, bold=True, border=self.border())
                cursor += width
            return y + 7

        y = header(y)
        for row in rows:
            height = 5.5 * (row[0].count("\n") + 1) + 1.5
            if y + height > bottom:
                if carry:
                    self.text(x, y + 1, 60, self.label("carry"), bold=True)
                self.pdf.add_page()
                y = 20 if not repeat else header(20)
            cursor = x
            for (_, width, align), value in zip(columns, row, strict=True):
                parts = value.split("\n")
                for offset, part in enumerate(parts):
                    self.text(cursor, y + offset * 5.5, width, part, align)
                cursor += width
            y += height
        return y


def _rows(doc: Doc, kinds: list[str]) -> list[list[str]]:
    rows: list[list[str]] = []
    for line in doc.invoice.lines:
        values = {
            "description": "\n".join(
                [
                    line.description[
                        : len(line.description) - len(" ".join(line.wrapped)) - (1 if line.wrapped else 0)
                    ],
                    *line.wrapped,
                ]
            )
            if line.wrapped
            else line.description,
            "qty": quantity(line.quantity, doc.invoice.locale),
            "unit": line.unit,
            "price": doc.money(line.unit_price),
            "rate": f"{line.rate}%",
            "amount": doc.money(line.amount),
            "pos": str(len(rows) + 1),
        }
        rows.append([values[kind] for kind in kinds])
    return rows


def _columns(doc: Doc, kinds: list[str], widths: dict[str, float]) -> list[tuple[str, float, Align]]:
    names = {
        "pos": "Pos.",
        "description": doc.label("description"),
        "qty": doc.label("qty"),
        "unit": doc.label("unit"),
        "price": doc.label("price"),
        "rate": doc.label("rate"),
        "amount": doc.label("amount"),
    }
    return [(names[kind], widths[kind], "L" if kind in ("description", "pos", "unit") else "R") for kind in kinds]


WIDTHS: dict[str, float] = {"pos": 12, "description": 85, "qty": 20, "unit": 16, "price": 30, "rate": 18, "amount": 32}


def _totals_right(doc: Doc, y: float, x_label: float = 110, x_value: float = 160) -> float:
    if y > 240:
        doc.pdf.add_page()
        y = 20
    for label, value in doc.totals():
        doc.text(x_label, y, 50, label, bold=label == doc.label("total"))
        doc.text(x_value, y, 38, value, "R", bold=label == doc.label("total"))
        y += 6.5
    return y


def _party(
    doc: Doc,
    x: float,
    y: float,
    heading: str | None,
    name: str,
    address: list[str],
    *,
    size: float | None = None,
    bold: bool = False,
) -> float:
    if heading:
        doc.text(x, y, 80, heading, bold=True)
        y += 6
    doc.text(x, y, 90, name, size=size, bold=bold)
    y += 6 if not size else size * 0.5
    for part in address:
        doc.text(x, y, 90, part)
        y += 5
    return y


# --- the layouts ---------------------------------------------------------------------------------


def classic(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    y = _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=18, bold=True)
    doc.text(10, y + 4, 80, doc.title(), size=14, bold=True)
    y += 14
    for label, value in doc.meta():
        doc.text(10, y, 45, f"{label}:")
        doc.text(55, y, 60, value)
        y += 6
    y = _party(doc, 10, y + 4, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 6
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y, _columns(doc, kinds, WIDTHS), _rows(doc, kinds))
    _totals_right(doc, y + 4)


def two_column(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=15, bold=True)
    doc.text(120, 12, 70, doc.title(), "R", size=16, bold=True)
    y: float = 24
    for label, value in doc.meta():
        doc.text(115, y, 40, label)
        doc.text(155, y, 40, value, "R")
        y += 6
    y = _party(doc, 10, 45, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 8
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y, _columns(doc, kinds, WIDTHS), _rows(doc, kinds))
    _totals_right(doc, y + 6)


def label_row(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    doc.text(10, 12, 90, invoice.vendor, size=13, bold=True)
    doc.text(10, 18, 90, " · ".join(invoice.vendor_address), size=8)
    doc.text(130, 12, 70, doc.title(), "R", size=20, bold=True)
    y: float = 34
    x: float = 10
    for label, value in doc.meta():
        doc.text(x, y, 55, label, bold=True, border=doc.border())
        doc.text(x, y + 6, 55, value, border=doc.border())
        x += 62
    y = _party(doc, 10, y + 18, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 6
    kinds = ["description", "qty", "unit", "price", "amount"]
    widths = {**WIDTHS, "description": 75}
    y = doc.table(y, _columns(doc, kinds, widths), _rows(doc, kinds))
    _totals_right(doc, y + 5)


def din_letter(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    doc.text(110, 12, 90, invoice.vendor, "R", size=17, bold=True)
    doc.text(110, 20, 90, invoice.vendor_address[0], "R")
    doc.text(110, 25, 90, invoice.vendor_address[1], "R")
    doc.text(20, 45, 90, f"{invoice.vendor} · {invoice.vendor_address[0]} · {invoice.vendor_address[1]}", size=6.5)
    y: float = 52
    for part in [invoice.buyer, *invoice.buyer_address]:
        doc.text(20, y, 80, part)
        y += 5
    y = 50
    for label, value in doc.meta():
        doc.text(125, y, 40, label)
        doc.text(160, y, 35, value, "R")
        y += 5.5
    doc.text(20, 90, 120, f"{doc.title()} {invoice.number}", size=13, bold=True)
    kinds = ["pos", "description", "qty", "unit", "price", "amount"]
    widths = {**WIDTHS, "description": 70}
    y = doc.table(100, _columns(doc, kinds, widths), _rows(doc, kinds), x=20)
    y = _totals_right(doc, y + 5)
    doc.text(
        20,
        275,
        170,
        f"{invoice.vendor} · {doc.label('vat_id')} DE{rng.randint(100000000, 999999999)} · "
        f"IBAN DE{rng.randint(10, 99)} 1001 0010 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} 00",
        "C",
        size=7,
    )


def side_by_side(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    doc.text(10, 10, 190, doc.title(), "C", size=18, bold=True)
    _party(doc, 10, 24, doc.label("from"), invoice.vendor, invoice.vendor_address)
    _party(doc, 110, 24, doc.label("bill_to"), invoice.buyer, invoice.buyer_address)
    y: float = 52
    for label, value in doc.meta():
        doc.text(10, y, 50, f"{label}: {value}")
        y += 6
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y + 6, _columns(doc, kinds, WIDTHS), _rows(doc, kinds))
    _totals_right(doc, y + 4)


def tax_column(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    y = _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=14, bold=True)
    doc.text(10, y + 2, 190, f"{doc.label('vat_id')}: {rng.randint(100000000, 999999999)}", size=8)
    doc.text(140, 12, 60, doc.title(), "R", size=15, bold=True)
    y = 22
    for label, value in doc.meta():
        doc.text(120, y, 45, label, "R")
        doc.text(167, y, 33, value, "R")
        y += 6
    y = _party(doc, 10, 48, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 6
    kinds = ["description", "qty", "price", "rate", "amount"]
    widths = {**WIDTHS, "description": 75}
    y = doc.table(y, _columns(doc, kinds, widths), _rows(doc, kinds))
    _totals_right(doc, y + 5)


def wrapped(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    doc.text(10, 12, 100, invoice.vendor, size=16, bold=True)
    doc.text(10, 20, 100, ", ".join(invoice.vendor_address))
    doc.text(10, 32, 100, doc.title(), size=12, bold=True)
    y: float = 40
    for label, value in doc.meta():
        doc.text(10, y, 100, f"{label} {value}")
        y += 6
    _party(doc, 120, 40, doc.label("bill_to"), invoice.buyer, invoice.buyer_address)
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y + 10, _columns(doc, kinds, WIDTHS), _rows(doc, kinds))
    _totals_right(doc, y + 5)


def multi_page(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=14, bold=True)
    doc.text(10, 34, 100, doc.title(), size=12, bold=True)
    y: float = 42
    for label, value in doc.meta():
        doc.text(10, y, 40, label)
        doc.text(50, y, 50, value)
        y += 6
    _party(doc, 120, 42, doc.label("bill_to"), invoice.buyer, invoice.buyer_address)
    kinds = ["pos", "description", "qty", "price", "amount"]
    widths = {**WIDTHS, "description": 80}
    y = doc.table(
        y + 8, _columns(doc, kinds, widths), _rows(doc, kinds), bottom=255, carry=True, repeat=rng.random() < 0.7
    )
    _totals_right(doc, y + 4)
    pages = doc.pdf.pages_count
    for number in range(1, pages + 1):
        doc.pdf.page = number
        doc.text(10, 282, 190, doc.invoice.labels["page"].format(n=number, m=pages), "C", size=8)


def minimal(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    doc.text(10, 10, 100, doc.title(), size=11, bold=True)
    doc.text(10, 17, 100, invoice.vendor)
    doc.text(10, 22, 100, invoice.vendor_address[0])
    y: float = 32
    for label, value in doc.meta():
        doc.text(10, y, 60, label)
        doc.text(150, y, 50, value, "R")
        y += 5
    y = _party(doc, 10, y + 4, doc.label("bill_to"), invoice.buyer, invoice.buyer_address[:1]) + 6
    kinds = ["description", "qty", "price", "amount"]
    widths = {**WIDTHS, "description": 100, "price": 35, "amount": 35}
    y = doc.table(y, _columns(doc, kinds, widths), _rows(doc, kinds))
    y += 5
    for label, value in doc.totals():
        doc.text(10, y, 60, label)
        doc.text(150, y, 50, value, "R")
        y += 5


def totals_row(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=15, bold=True)
    doc.text(120, 12, 80, doc.title(), "R", size=14, bold=True)
    y: float = 22
    for label, value in doc.meta():
        doc.text(120, y, 80, f"{label}: {value}", "R")
        y += 6
    y = _party(doc, 10, 45, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 6
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y, _columns(doc, kinds, WIDTHS), _rows(doc, kinds)) + 8
    if y > 250:
        doc.pdf.add_page()
        y = 20
    x: float = 10
    for label, value in doc.totals():
        doc.text(x, y, 45, label, "R", bold=True, border=doc.border())
        doc.text(x, y + 6, 45, value, "R", border=doc.border())
        x += 47
        if x > 160:
            x, y = 10, y + 15


def adjustments(doc: Doc, rng: random.Random) -> None:
    """A pre-tax "Total" row above the taxes and the amount to pay (discounts and fees drawn too)."""
    invoice = doc.invoice
    y = _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=16, bold=True)
    doc.text(130, 12, 70, doc.title(), "R", size=16)
    y = 22
    for label, value in doc.meta():
        doc.text(120, y, 40, label)
        doc.text(160, y, 40, value, "R")
        y += 6
    y = _party(doc, 10, 45, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 8
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y, _columns(doc, kinds, WIDTHS), _rows(doc, kinds))
    _totals_right(doc, y + 5)


def buyer_first(doc: Doc, rng: random.Random) -> None:
    invoice = doc.invoice
    doc.text(10, 8, 100, doc.invoice.labels["page"].format(n=1, m=1), size=7)
    y = _party(doc, 10, 16, doc.label("bill_to"), invoice.buyer, invoice.buyer_address)
    _party(doc, 120, 16, None, invoice.vendor, invoice.vendor_address, size=14, bold=True)
    doc.text(10, y + 6, 80, doc.title(), size=14, bold=True)
    y += 14
    for label, value in doc.meta():
        doc.text(10, y, 45, label)
        doc.text(55, y, 45, value)
        y += 6
    kinds = ["description", "qty", "price", "amount"]
    y = doc.table(y + 6, _columns(doc, kinds, WIDTHS), _rows(doc, kinds))
    _totals_right(doc, y + 4)
    doc.text(10, 280, 190, f"{invoice.vendor} · {', '.join(invoice.vendor_address)}", "C", size=7)


def breakdown_table(doc: Doc, rng: random.Random) -> None:
    """Totals as a tax breakdown table (rate, net, tax, gross per rate, then a sum row), as many
    German and Dutch invoices print them."""
    invoice = doc.invoice
    y = _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=15, bold=True)
    doc.text(120, 12, 80, doc.title(), "R", size=13, bold=True)
    y = 22
    for label, value in doc.meta():
        doc.text(120, y, 45, label)
        doc.text(165, y, 35, value, "R")
        y += 6
    y = _party(doc, 10, 45, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 8
    kinds = ["description", "qty", "price", "rate", "amount"]
    y = doc.table(y, _columns(doc, kinds, {**WIDTHS, "description": 75}), _rows(doc, kinds)) + 6
    if y > 230:
        doc.pdf.add_page()
        y = 20
    heads = [
        doc.label("rate"),
        doc.label("subtotal"),
        invoice.labels["tax"].format(rate="").strip(),
        doc.label("total"),
    ]
    x = 60
    for head in heads:
        doc.text(x, y, 35, head, "R", bold=True)
        x += 35
    y += 6
    base: dict[int, Decimal] = {}
    for line in invoice.lines:
        base[line.rate] = base.get(line.rate, Decimal(0)) + line.amount
    for rate, amount in invoice.taxes:
        net = base.get(rate, Decimal(0))
        doc.text(60, y, 35, f"{rate}%", "R")
        doc.text(95, y, 35, doc.money(net), "R")
        doc.text(130, y, 35, doc.money(amount), "R")
        doc.text(165, y, 35, doc.money(net + amount), "R")
        y += 6
    y += 2
    doc.text(10, y, 80, doc.label("total"), bold=True)
    doc.text(150, y, 50, doc.money(invoice.total, with_currency=True), "R", bold=True)


def headerless(doc: Doc, rng: random.Random) -> None:
    """Item rows with no header row: description, quantity, unit price and amount, then totals."""
    invoice = doc.invoice
    doc.text(10, 12, 120, invoice.vendor, size=12, bold=True)
    doc.text(10, 18, 120, ", ".join(invoice.vendor_address), size=9)
    doc.text(150, 12, 50, doc.title(), "R", size=12)
    y: float = 30
    for label, value in doc.meta():
        doc.text(10, y, 120, f"{label}: {value}")
        y += 6
    y = _party(doc, 10, y + 4, doc.label("bill_to"), invoice.buyer, invoice.buyer_address[:1]) + 8
    for row in _rows(doc, ["description", "qty", "price", "amount"]):
        doc.text(10, y, 100, row[0].split("\n")[0])
        doc.text(110, y, 20, row[1], "R")
        doc.text(135, y, 30, row[2], "R")
        doc.text(168, y, 30, row[3], "R")
        y += 6
    _totals_right(doc, y + 6)


def two_line_header(doc: Doc, rng: random.Random) -> None:
    """The table's column names broken over two lines ("Unit" over "price"), amounts with the
    currency code in front of them."""
    invoice = doc.invoice
    y = _party(doc, 10, 12, None, invoice.vendor, invoice.vendor_address, size=14, bold=True)
    doc.text(120, 12, 80, doc.title(), "R", size=14, bold=True)
    y = 24
    for label, value in doc.meta():
        doc.text(120, y, 40, label)
        doc.text(160, y, 40, value, "R")
        y += 6
    y = _party(doc, 10, 45, doc.label("bill_to"), invoice.buyer, invoice.buyer_address) + 8
    columns = _columns(doc, ["description", "qty", "price", "amount"], WIDTHS)
    x = 10.0
    for name, width, align in columns:
        first, _, second = name.partition(" ")
        doc.text(x, y, width, first, align, bold=True)
        if second:
            doc.text(x, y + 5, width, second, align, bold=True)
        x += width
    y += 12
    code = invoice.locale.currency
    for row in _rows(doc, ["description", "qty", "price", "amount"]):
        doc.text(10, y, 85, row[0].split("\n")[0])
        doc.text(95, y, 20, row[1], "R")
        doc.text(115, y, 30, f"{code} {row[2]}", "R")
        doc.text(145, y, 32, f"{code} {row[3]}", "R")
        y += 6
    _totals_right(doc, y + 6)


# Drawn only into the held-out set: layouts the parser was not developed against.
UNSEEN: dict[str, Callable[[Doc, random.Random], None]] = {
    "breakdown_table": breakdown_table,
    "headerless": headerless,
    "two_line_header": two_line_header,
}

LAYOUTS: dict[str, Callable[[Doc, random.Random], None]] = {
    "classic": classic,
    "two_column": two_column,
    "label_row": label_row,
    "din_letter": din_letter,
    "side_by_side": side_by_side,
    "tax_column": tax_column,
    "wrapped": wrapped,
    "multi_page": multi_page,
    "minimal": minimal,
    "totals_row": totals_row,
    "adjustments": adjustments,
    "buyer_first": buyer_first,
}
