"""Invoices drawn by hand, one per style the corpus generator does not draw: quantity before the
description, the number in the title, two VAT rates with their bases, a DIN letter with article
numbers and "vom", an Italian "del", a Spanish freelancer's IRPF, an Indian GST invoice. Each comes
with what a reader takes from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fpdf import FPDF

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
Align = Literal["L", "R", "C"]
Column = tuple[float, float, Align]


@dataclass(frozen=True)
class HandMade:
    pdf: bytes
    fields: dict[str, object]
    items: list[tuple[str, Decimal, Decimal, Decimal]]


class Page:
    def __init__(self) -> None:
        self.pdf = FPDF(format="Letter")
        self.pdf.set_auto_page_break(auto=False)
        if (DEJAVU / "DejaVuSans.ttf").exists():
            self.pdf.add_font("body", "", str(DEJAVU / "DejaVuSans.ttf"))
            self.pdf.add_font("body", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
            self.font = "body"
        else:  # the core font: no € sign, which these invoices then print as EUR
            self.font = "helvetica"
        self.pdf.add_page()

    def text(
        self, x: float, y: float, w: float, text: str, align: Align = "L", size: float = 10, bold: bool = False
    ) -> None:
        if self.font == "helvetica":
            text = text.replace("€", "EUR").replace("·", "-")
        self.pdf.set_font(self.font, "B" if bold else "", size)
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, 6, text, align=align)

    def rows(self, y: float, columns: Sequence[Column], rows: Sequence[Sequence[str]], size: float = 10) -> float:
        for number, row in enumerate(rows):
            for (x, w, align), value in zip(columns, row, strict=True):
                if value:
                    self.text(x, y + number * 7, w, value, align, size, bold=number == 0)
        return y + 7 * len(rows)

    def totals(self, y: float, pairs: Sequence[tuple[str, str]], x: float = 110) -> None:
        for number, (label, value) in enumerate(pairs):
            self.text(x, y + number * 6, 55, label, "R")
            self.text(x + 57, y + number * 6, 35, value, "R")

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def _items(*rows: tuple[str, str, str, str]) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [(d, Decimal(q), Decimal(u), Decimal(a)) for d, q, u, a in rows]


def us_quantity_first() -> HandMade:
    page = Page()
    page.text(12, 12, 100, "Northwind Traders", size=18, bold=True)
    page.text(12, 20, 100, "1200 Harbor Blvd, Oakland, CA 94607", size=9)
    page.text(140, 12, 64, "INVOICE", "R", 22, bold=True)
    for number, (label, value) in enumerate(
        (("Invoice #", "1042"), ("Date", "Mar 3, 2026"), ("Due Date", "Apr 2, 2026"))
    ):
        page.text(135, 26 + number * 6, 35, label, "R", bold=True)
        page.text(172, 26 + number * 6, 32, value, "R")
    for x, heading, lines in (
        (12, "Bill To:", ("Globex Corporation", "55 Main St")),
        (110, "Ship To:", ("Globex Warehouse 3", "9 Dock Rd")),
    ):
        page.text(x, 52, 80, heading, bold=True)
        for number, line in enumerate(lines):
            page.text(x, 58 + number * 6, 80, line)
    columns: list[Column] = [(12, 20, "L"), (32, 100, "L"), (132, 35, "R"), (167, 35, "R")]
    y = page.rows(
        80,
        columns,
        [
            ("QTY", "DESCRIPTION", "UNIT PRICE", "AMOUNT"),
            ("2", "Widget, large", "$125.00", "$250.00"),
            ("10", "Bolts M8 (box of 100)", "$7.50", "$75.00"),
            ("1", "Assembly labour", "$180.00", "$180.00"),
        ],
    )
    page.totals(
        y + 6, [("Subtotal", "$505.00"), ("Sales Tax (8.25%)", "$41.66"), ("Shipping", "$25.00"), ("TOTAL", "$571.66")]
    )
    return HandMade(
        page.bytes(),
        {
            "vendor": "Northwind Traders",
            "invoice_number": "1042",
            "issue_date": date(2026, 3, 3),
            "due_date": date(2026, 4, 2),
            "currency": "USD",
            "subtotal": Decimal("505.00"),
            "tax": Decimal("41.66"),
            "total": Decimal("571.66"),
        },
        _items(
            ("Widget, large", "2", "125.00", "250.00"),
            ("Bolts M8 (box of 100)", "10", "7.50", "75.00"),
            ("Assembly labour", "1", "180.00", "180.00"),
            ("Shipping", "1", "25.00", "25.00"),
        ),
    )


def french_number_in_title() -> HandMade:
    page = Page()
    page.text(12, 12, 100, "ATELIER BLEU", size=20, bold=True)
    page.text(120, 14, 84, "FACTURE N° 2026-015", "R", 14, bold=True)
    page.text(120, 24, 84, "Date : 05/03/2026", "R")
    page.text(120, 30, 84, "Échéance : 04/04/2026", "R")
    page.text(12, 45, 80, "Client", bold=True)
    page.text(12, 51, 80, "Maison Dupont SARL")
    page.text(12, 57, 80, "12 avenue Victor Hugo, 69003 Lyon")
    columns: list[Column] = [(12, 18, "L"), (30, 90, "L"), (120, 20, "R"), (140, 30, "R"), (170, 34, "R")]
    y = page.rows(
        75,
        columns,
        [
            ("Réf.", "Désignation", "Qté", "PU HT", "Total HT"),
            ("A-12", "Table en chêne massif", "1", "1\u00a0250,00", "1\u00a0250,00"),
            ("B-07", "Chaise tapissée", "6", "189,90", "1\u00a0139,40"),
        ],
    )
    page.totals(y + 6, [("Total HT", "2\u00a0389,40 €"), ("TVA 20 %", "477,88 €"), ("Net à payer", "2\u00a0867,28 €")])
    page.text(12, 262, 190, "Atelier Bleu SAS · 8 rue des Artisans, 75011 Paris · SIRET 812 345 678 00012", "C", 7)
    return HandMade(
        page.bytes(),
        {
            "invoice_number": "2026-015",
            "issue_date": date(2026, 3, 5),
            "due_date": date(2026, 4, 4),
            "currency": "EUR",
            "subtotal": Decimal("2389.40"),
            "tax": Decimal("477.88"),
            "total": Decimal("2867.28"),
        },
        _items(("Table en chêne massif", "1", "1250.00", "1250.00"), ("Chaise tapissée", "6", "189.90", "1139.40")),
    )


def german_din_letter() -> HandMade:
    page = Page()
    page.text(120, 12, 84, "Schmidt Elektrotechnik GmbH", "R", 15, bold=True)
    page.text(120, 19, 84, "Industriestr. 7, 70565 Stuttgart", "R", 9)
    page.text(20, 45, 90, "Schmidt Elektrotechnik GmbH · Industriestr. 7 · 70565 Stuttgart", size=6)
    for number, line in enumerate(("Hotel Sonnenhof KG", "Am Markt 2", "79098 Freiburg")):
        page.text(20, 50 + number * 5, 90, line)
    page.text(20, 80, 150, "Rechnung Nr. 2026-0815 vom 05.03.2026", size=13, bold=True)
    page.text(20, 88, 150, "Leistungsdatum: 28.02.2026", size=9)
    columns: list[Column] = [
        (20, 12, "L"),
        (32, 22, "L"),
        (54, 66, "L"),
        (120, 16, "R"),
        (136, 14, "L"),
        (150, 25, "R"),
        (175, 27, "R"),
    ]
    y = page.rows(
        100,
        columns,
        [
            ("Pos.", "Art.-Nr.", "Bezeichnung", "Menge", "Einh.", "Einzelpreis €", "Gesamtpreis €"),
            ("1", "E-4711", "LED-Panel 60x60", "12", "Stk", "89,90", "1.078,80"),
            ("2", "K-0815", "Kabel NYM-J 3x1,5", "100", "m", "1,20", "120,00"),
            ("3", "", "Montage", "6,5", "Std", "65,00", "422,50"),
        ],
        size=9,
    )
    page.totals(
        y + 6, [("Nettobetrag", "1.621,30 €"), ("zzgl. 19 % MwSt.", "308,05 €"), ("Rechnungsbetrag", "1.929,35 €")]
    )
    page.text(20, y + 30, 180, "Zahlbar innerhalb 14 Tagen ohne Abzug.", size=9)
    return HandMade(
        page.bytes(),
        {
            "vendor": "Schmidt Elektrotechnik GmbH",
            "invoice_number": "2026-0815",
            "issue_date": date(2026, 3, 5),
            "due_date": date(2026, 3, 19),
            "currency": "EUR",
            "subtotal": Decimal("1621.30"),
            "tax": Decimal("308.05"),
            "total": Decimal("1929.35"),
        },
        _items(
            ("LED-Panel 60x60", "12", "89.90", "1078.80"),
            ("Kabel NYM-J 3x1,5", "100", "1.20", "120.00"),
            ("Montage", "6.5", "65.00", "422.50"),
        ),
    )


def dutch_two_rates() -> HandMade:
    page = Page()
    page.text(12, 12, 100, "De Vries Installatietechniek B.V.", size=14, bold=True)
    page.text(12, 19, 100, "Kanaalweg 14, 3526 KL Utrecht", size=9)
    for number, (label, value) in enumerate(
        (("Factuurnummer:", "2026-0042"), ("Factuurdatum:", "3 maart 2026"), ("Vervaldatum:", "17 maart 2026"))
    ):
        page.text(12, 35 + number * 6, 38, label)
        page.text(50, 35 + number * 6, 60, value)
    page.text(120, 35, 80, "Factuur aan", bold=True)
    page.text(120, 41, 80, "Bakkerij Jansen")
    columns: list[Column] = [(12, 80, "L"), (92, 20, "R"), (112, 30, "R"), (142, 20, "R"), (162, 40, "R")]
    y = page.rows(
        62,
        columns,
        [
            ("Omschrijving", "Aantal", "Prijs", "BTW", "Totaal"),
            ("Cv-ketel onderhoud", "1", "145,00", "21%", "145,00"),
            ("Filter vervangen", "2", "12,50", "21%", "25,00"),
            ("Boek: Energiezuinig wonen", "1", "24,95", "9%", "24,95"),
        ],
    )
    page.totals(
        y + 6,
        [
            ("Subtotaal", "€ 194,95"),
            ("BTW 21% over € 170,00", "€ 35,70"),
            ("BTW 9% over € 24,95", "€ 2,25"),
            ("Totaal", "€ 232,90"),
        ],
    )
    return HandMade(
        page.bytes(),
        {
            "vendor": "De Vries Installatietechniek B.V.",
            "invoice_number": "2026-0042",
            "issue_date": date(2026, 3, 3),
            "due_date": date(2026, 3, 17),
            "currency": "EUR",
            "subtotal": Decimal("194.95"),
            "tax": Decimal("37.95"),
            "total": Decimal("232.90"),
        },
        _items(
            ("Cv-ketel onderhoud", "1", "145.00", "145.00"),
            ("Filter vervangen", "2", "12.50", "25.00"),
            ("Boek: Energiezuinig wonen", "1", "24.95", "24.95"),
        ),
    )


def spanish_withholding() -> HandMade:
    page = Page()
    page.text(12, 12, 100, "Laura Martín Gómez", size=15, bold=True)
    page.text(12, 19, 100, "NIF 12345678Z · Calle Mayor 10, 28013 Madrid", size=9)
    page.text(130, 12, 74, "FACTURA", "R", 16, bold=True)
    for number, line in enumerate(("Nº de factura: 2026/007", "Fecha: 05/03/2026", "Vencimiento: 04/04/2026")):
        page.text(130, 22 + number * 6, 74, line, "R")
    page.text(12, 45, 80, "Cliente", bold=True)
    page.text(12, 51, 80, "Estudio Norte S.L.")
    columns: list[Column] = [(12, 100, "L"), (112, 20, "R"), (132, 35, "R"), (167, 35, "R")]
    y = page.rows(
        72,
        columns,
        [
            ("Concepto", "Horas", "Precio", "Importe"),
            ("Diseño de identidad corporativa", "20", "45,00", "900,00"),
            ("Maquetación catálogo", "8", "40,00", "320,00"),
        ],
    )
    page.totals(
        y + 6,
        [
            ("Base imponible", "1.220,00 €"),
            ("IVA 21%", "256,20 €"),
            ("IRPF -15%", "-183,00 €"),
            ("Total factura", "1.293,20 €"),
        ],
    )
    return HandMade(
        page.bytes(),
        {
            "vendor": "Laura Martín Gómez",
            "invoice_number": "2026/007",
            "issue_date": date(2026, 3, 5),
            "due_date": date(2026, 4, 4),
            "currency": "EUR",
            "subtotal": Decimal("1220.00"),
            "tax": Decimal("256.20"),
            "total": Decimal("1293.20"),
        },
        _items(
            ("Diseño de identidad corporativa", "20", "45.00", "900.00"),
            ("Maquetación catálogo", "8", "40.00", "320.00"),
            ("IRPF -15%", "1", "-183.00", "-183.00"),
        ),
    )


def indian_gst() -> HandMade:
    page = Page()
    page.text(12, 12, 120, "Shakti Components Pvt Ltd", size=15, bold=True)
    page.text(12, 19, 120, "GSTIN: 29ABCDE1234F1Z5 · Peenya, Bengaluru 560058", size=8)
    page.text(140, 12, 64, "TAX INVOICE", "R", 14, bold=True)
    for number, line in enumerate(("Invoice No: SC/2026/0193", "Invoice Date: 05-03-2026", "Due Date: 04-04-2026")):
        page.text(130, 22 + number * 6, 74, line, "R")
    page.text(12, 42, 80, "Bill To", bold=True)
    page.text(12, 48, 80, "Kaveri Motors LLP")
    columns: list[Column] = [(12, 70, "L"), (82, 22, "L"), (104, 16, "R"), (120, 36, "R"), (156, 46, "R")]
    y = page.rows(
        68,
        columns,
        [
            ("Description", "HSN/SAC", "Qty", "Rate", "Amount"),
            ("Brake pad set", "8708", "120", "1,450.00", "1,74,000.00"),
            ("Machining service", "9988", "1", "25,000.00", "25,000.00"),
        ],
    )
    page.totals(
        y + 6,
        [
            ("Taxable Value", "1,99,000.00"),
            ("CGST @ 9%", "17,910.00"),
            ("SGST @ 9%", "17,910.00"),
            ("Total Amount (INR)", "2,34,820.00"),
        ],
    )
    return HandMade(
        page.bytes(),
        {
            "vendor": "Shakti Components Pvt Ltd",
            "invoice_number": "SC/2026/0193",
            "issue_date": date(2026, 3, 5),
            "due_date": date(2026, 4, 4),
            "currency": "INR",
            "subtotal": Decimal("199000.00"),
            "tax": Decimal("35820.00"),
            "total": Decimal("234820.00"),
        },
        _items(("Brake pad set", "120", "1450.00", "174000.00"), ("Machining service", "1", "25000.00", "25000.00")),
    )


HAND_MADE: dict[str, Callable[[], HandMade]] = {
    "US, quantity first": us_quantity_first,
    "French, number in the title": french_number_in_title,
    "German DIN letter": german_din_letter,
    "Dutch, two VAT rates": dutch_two_rates,
    "Spanish, IRPF withheld": spanish_withholding,
    "Indian GST": indian_gst,
}
