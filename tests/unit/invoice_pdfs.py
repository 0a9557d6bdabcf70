"""Real invoice PDFs in several layouts (fpdf2), each with the fields and line items a reader sees,
and hostile files (bombs, loops, huge page counts) for the parser's limits."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fpdf import FPDF

if TYPE_CHECKING:
    from collections.abc import Callable

Row = tuple[str, str, str, str]  # description, quantity, unit price, amount (as printed)


@dataclass
class Sample:
    name: str
    pdf: bytes
    fields: dict[str, Any]
    items: list[tuple[str, Decimal, Decimal, Decimal]] = field(default_factory=list)


def _document() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    return pdf


def _items(rows: list[Row], comma: bool = False) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    def number(text: str) -> Decimal:
        return Decimal(text.replace(".", "").replace(",", ".") if comma else text.replace(",", ""))

    return [(d, number(q), number(u), number(a)) for d, q, u, a in rows]


def _table(pdf: FPDF, header: Row, rows: list[Row], *, ruled: bool, widths: tuple[int, ...] = (90, 25, 35, 35)) -> None:
    border: Literal[0, 1] = 1 if ruled else 0
    pdf.set_font("Helvetica", style="B", size=10)
    for width, text in zip(widths, header, strict=True):
        pdf.cell(width, 8, text, border=border, align="L" if width == widths[0] else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for row in rows:
        for width, text in zip(widths, row, strict=True):
            pdf.cell(width, 7, text, border=border, align="L" if width == widths[0] else "R")
        pdf.ln()


def _totals(pdf: FPDF, pairs: list[tuple[str, str]]) -> None:
    pdf.ln(4)
    for label, value in pairs:
        pdf.cell(115, 7, "")
        pdf.cell(35, 7, label)
        pdf.cell(35, 7, value, align="R")
        pdf.ln()


def ruled_table() -> Sample:
    rows: list[Row] = [
        ("Laptop stand, aluminium", "4", "45.00", "180.00"),
        ("USB-C docking station", "2", "189.50", "379.00"),
        ("Installation (hours)", "1.5", "80.00", "120.00"),
    ]
    pdf = _document()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 10, "ACME Hardware Ltd", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, "12 Foundry Lane, Leeds", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(0, 10, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for label, value in (
        ("Invoice No:", "INV-2026-0042"),
        ("Invoice Date:", "2026-03-05"),
        ("Due Date:", "2026-04-04"),
    ):
        pdf.cell(35, 6, label)
        pdf.cell(60, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Bill to: Payreq Customer GmbH", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _table(pdf, ("Description", "Qty", "Unit price", "Amount"), rows, ruled=True)
    _totals(pdf, [("Subtotal", "679.00"), ("VAT 20%", "135.80"), ("Total GBP", "814.80")])
    return Sample(
        "table with rules",
        bytes(pdf.output()),
        {
            "invoice_number": "INV-2026-0042",
            "vendor": "ACME Hardware Ltd",
            "issue_date": date(2026, 3, 5),
            "due_date": date(2026, 4, 4),
            "currency": "GBP",
            "subtotal": Decimal("679.00"),
            "tax": Decimal("135.80"),
            "total": Decimal("814.80"),
        },
        _items(rows),
    )


def plain_table() -> Sample:
    rows: list[Row] = [
        ("Consulting, March", "10", "1,200.00", "12,000.00"),
        ("Travel expenses", "1", "345.60", "345.60"),
    ]
    pdf = _document()
    pdf.cell(0, 6, "Invoice", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "From: Northwind Consulting LLC", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Invoice # NW-1007", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Date: 03/15/2026", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Payment due: 04/14/2026", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    _table(pdf, ("Item", "Quantity", "Rate", "Line total"), rows, ruled=False)
    _totals(pdf, [("Subtotal", "12,345.60"), ("Sales tax", "0.00"), ("Amount due (USD)", "12,345.60")])
    return Sample(
        "table without rules",
        bytes(pdf.output()),
        {
            "invoice_number": "NW-1007",
            "vendor": "Northwind Consulting LLC",
            "issue_date": date(2026, 3, 15),
            "due_date": date(2026, 4, 14),
            "currency": "USD",
            "subtotal": Decimal("12345.60"),
            "tax": Decimal("0.00"),
            "total": Decimal("12345.60"),
        },
        _items(rows),
    )


def two_column_header() -> Sample:
    rows: list[Row] = [
        ("Cloud hosting plan M", "1", "299.00", "299.00"),
        ("Extra storage 500 GB", "3", "12.50", "37.50"),
    ]
    pdf = _document()
    left = [("Blue Sky Hosting Inc.", None), ("400 Market Street", None), ("San Francisco, CA", None)]
    right = [("Invoice Number", "BS-000981"), ("Invoice Date", "2026-02-01"), ("Due Date", "2026-03-03")]
    for (text, _), (label, value) in zip(left, right, strict=True):
        pdf.cell(95, 6, text)
        pdf.cell(35, 6, label)
        pdf.cell(50, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    _table(pdf, ("Service", "Units", "Price", "Total"), rows, ruled=True)
    _totals(pdf, [("Subtotal", "336.50"), ("Tax", "26.92"), ("Total (USD)", "363.42")])
    return Sample(
        "two-column header",
        bytes(pdf.output()),
        {
            "invoice_number": "BS-000981",
            "vendor": "Blue Sky Hosting Inc.",
            "issue_date": date(2026, 2, 1),
            "due_date": date(2026, 3, 3),
            "currency": "USD",
            "subtotal": Decimal("336.50"),
            "tax": Decimal("26.92"),
            "total": Decimal("363.42"),
        },
        _items(rows),
    )


def multi_page(pages: int = 3, per_page: int = 30) -> Sample:
    rows: list[Row] = [
        (f"Cable assembly type {n}", str(n % 5 + 1), f"{n}.25", f"{(n % 5 + 1) * (n + Decimal('0.25')):.2f}")
        for n in range(1, pages * per_page + 1)
    ]
    subtotal = sum((Decimal(row[3]) for row in rows), Decimal(0))
    tax = (subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
    pdf = _document()
    pdf.cell(0, 8, "Contoso Components Pty Ltd", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Tax Invoice", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Invoice no. CC-77120", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Issue date: 2026-01-20", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Due date: 2026-02-19", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "All amounts in AUD", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for page in range(pages):
        if page:
            pdf.add_page()
        chunk = rows[page * per_page : (page + 1) * per_page]
        _table(pdf, ("Description", "Qty", "Unit price", "Amount"), chunk, ruled=page % 2 == 0)
        if page == pages - 1:
            totals = [("Subtotal", f"{subtotal:,.2f}"), ("GST", f"{tax:,.2f}"), ("Total AUD", f"{subtotal + tax:,.2f}")]
            _totals(pdf, totals)
        pdf.set_y(-20)
        pdf.cell(0, 6, f"Page {page + 1} of {pages}", align="C")
    return Sample(
        "multi-page line items",
        bytes(pdf.output()),
        {
            "invoice_number": "CC-77120",
            "vendor": "Contoso Components Pty Ltd",
            "issue_date": date(2026, 1, 20),
            "due_date": date(2026, 2, 19),
            "currency": "AUD",
            "subtotal": subtotal,
            "tax": tax,
            "total": subtotal + tax,
        },
        _items(rows),
    )


def comma_decimals() -> Sample:
    rows: list[Row] = [
        ("Büromöbel Schreibtisch", "2", "1.249,00", "2.498,00"),
        ("Montage pauschal", "1", "150,00", "150,00"),
        ("Kabelkanal 1,5 m", "6", "12,49", "74,94"),
    ]
    pdf = _document()
    pdf.cell(0, 8, "Müller & Söhne GmbH", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Hauptstraße 5, 80331 München", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 8, "RECHNUNG", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Rechnungsnummer: 2026/0815", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Rechnungsdatum: 12.03.2026", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Zahlbar bis: 11.04.2026", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _table(pdf, ("Bezeichnung", "Menge", "Einzelpreis", "Betrag"), rows, ruled=True)
    _totals(pdf, [("Nettobetrag", "2.722,94 EUR"), ("MwSt. 19%", "517,36 EUR"), ("Gesamtbetrag", "3.240,30 EUR")])
    return Sample(
        "comma-decimal locale",
        bytes(pdf.output()),
        {
            "invoice_number": "2026/0815",
            "vendor": "Müller & Söhne GmbH",
            "issue_date": date(2026, 3, 12),
            "due_date": date(2026, 4, 11),
            "currency": "EUR",
            "subtotal": Decimal("2722.94"),
            "tax": Decimal("517.36"),
            "total": Decimal("3240.30"),
        },
        _items(rows, comma=True),
    )


def written_dates() -> Sample:
    rows: list[Row] = [
        ("Annual software licence", "1", "2,400.00", "2,400.00"),
        ("Priority support", "12", "50.00", "600.00"),
    ]
    pdf = _document()
    pdf.cell(0, 8, "Fabrikam Software AG", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Invoice number: FS/2026/113", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Issued on: 3rd February 2026", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Due: March 5, 2026", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _table(pdf, ("Description", "Qty", "Price", "Amount"), rows, ruled=False)
    _totals(pdf, [("Net amount", "3,000.00"), ("VAT 7.7%", "231.00"), ("Total CHF", "3,231.00")])
    return Sample(
        "dates written out",
        bytes(pdf.output()),
        {
            "invoice_number": "FS/2026/113",
            "vendor": "Fabrikam Software AG",
            "issue_date": date(2026, 2, 3),
            "due_date": date(2026, 3, 5),
            "currency": "CHF",
            "subtotal": Decimal("3000.00"),
            "tax": Decimal("231.00"),
            "total": Decimal("3231.00"),
        },
        _items(rows),
    )


def negative_invoice() -> Sample:
    """Titled an invoice, every amount negative: a refund written on the wrong form."""
    rows: list[Row] = [("Refund: returned docking station", "1", "-189.50", "-189.50")]
    pdf = _document()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 10, "ACME Hardware Ltd", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Invoice No: INV-2026-0077", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Invoice Date: 2026-03-09", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _table(pdf, ("Description", "Qty", "Unit price", "Amount"), rows, ruled=True)
    _totals(pdf, [("Subtotal", "-189.50"), ("VAT 20%", "-37.90"), ("Total GBP", "-227.40")])
    return Sample(
        "negative amounts on an invoice",
        bytes(pdf.output()),
        {"invoice_number": "INV-2026-0077", "subtotal": Decimal("-189.50"), "total": Decimal("-227.40")},
        _items(rows),
    )


LAYOUTS = (ruled_table, plain_table, two_column_header, multi_page, comma_decimals, written_dates)


def invoice_of_pages(pages: int) -> bytes:
    """A realistic invoice with `pages` pages of line items (for measurements)."""
    return multi_page(pages=pages).pdf


# --- hostile files -------------------------------------------------------------------------------


def _raw_pdf(objects: list[bytes], *, xref: bool = True, root: int = 1) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    start = len(out)
    if xref:
        out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R >>\nstartxref\n{start}\n%%EOF\n".encode()
    return bytes(out)


def flate_bomb(megabytes: int = 400) -> bytes:
    """A page whose content stream is a few hundred kB compressed and `megabytes` MB inflated."""
    compressor = zlib.compressobj(9)
    chunk = b"0 0 m " * (1024 * 1024 // 6)
    body = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    stream = f"<< /Length {len(body)} /Filter /FlateDecode >>\nstream\n".encode() + body + b"\nendstream"
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream,
        ]
    )


def nested_streams(depth: int = 5000) -> bytes:
    """Form XObjects that draw each other, deeper than any reader should follow."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /X 5 0 R >> >> >>",
        b"<< /Length 7 >>\nstream\n/X Do Q\nendstream",
    ]
    for level in range(depth):
        child = 5 + level + 1 if level + 1 < depth else 5  # the last one draws the first: a cycle too
        content = b"/X Do"
        objects.append(
            f"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X {child} 0 R >> >> "
            f"/Length {len(content)} >>\nstream\n".encode()
            + content
            + b"\nendstream"
        )
    data = "<< " * 20000 + ">> " * 20000  # and a dictionary nested far too deep
    objects.append(data.encode())
    return _raw_pdf(objects)


def circular_xref() -> bytes:
    """An xref section whose /Prev points back at itself, and a page tree whose kid is its parent."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size 4 /Root 1 0 R /Prev {start} >>\nstartxref\n{start}\n%%EOF\n".encode()
    return bytes(out)


def many_pages(pages: int = 2000) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=8)
    for number in range(pages):
        pdf.add_page()
        pdf.cell(0, 5, f"Page {number + 1}")
    return bytes(pdf.output())


def not_a_pdf() -> bytes:
    return b"PK\x03\x04 this is a zip file named invoice.pdf" + b"\x00" * 200


def zero_bytes() -> bytes:
    return b""


# --- files made to look like something they are not ----------------------------------------------


def line_of_numbers(count: int = 1200) -> bytes:
    """One long line of numbers (about 2.5 KB compressed): once quadratic in field extraction."""
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=4)
    pdf.add_page()
    pdf.set_xy(0, 10)
    text = " ".join(f"{n % 97},{n % 89:02d}" for n in range(count))
    pdf.cell(0, 3, text)
    return bytes(pdf.output())


def _scan_image() -> bytes:
    import struct

    # A tiny grey PNG drawn over the whole page, as a phone scanner app produces (without the detail).
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\xc8" * 64 for _ in range(64))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def image_only() -> bytes:
    import io

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(io.BytesIO(_scan_image()), x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


def stamp_over_image() -> bytes:
    import io

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(io.BytesIO(_scan_image()), x=0, y=0, w=210, h=297)
    pdf.set_font("Helvetica", size=7)
    pdf.set_xy(10, 285)
    pdf.cell(0, 4, "Scanned with DocScan Pro 3.2 - 2026-03-05 14:02")
    return bytes(pdf.output())


HOSTILE: dict[str, Callable[[], bytes]] = {
    "flate bomb": flate_bomb,
    "deeply nested streams": nested_streams,
    "circular xref": circular_xref,
    "2,000 pages": many_pages,
    "not a PDF": not_a_pdf,
    "zero bytes": zero_bytes,
    "a line of numbers": line_of_numbers,
}
