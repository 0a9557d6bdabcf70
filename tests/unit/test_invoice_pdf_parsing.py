"""Invoice PDFs in six layouts parse into exactly their fields and line items; hostile files end as
a readable failure within a time and memory bound, never as a crash."""

from __future__ import annotations

import time
import tracemalloc
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from invoice_api import fields, pdftext
from unit import invoice_pdfs

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize("layout", invoice_pdfs.LAYOUTS, ids=lambda make: make.__name__)
def test_each_layout_parses_into_its_fields_and_line_items(layout: Callable[[], invoice_pdfs.Sample]) -> None:
    # Given an invoice PDF in this layout
    sample = layout()

    # When it is read
    found = fields.extract(pdftext.extract_pages(sample.pdf))

    # Then every field and every line item is what the invoice says
    assert {name: found.fields[name].value for name in sample.fields if name in found.fields} == sample.fields
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in found.items] == sample.items
    assert all(0 < f.confidence <= 1 and f.page >= 1 and f.line >= 1 for f in found.fields.values())


def test_the_total_is_trusted_more_when_the_lines_and_tax_add_up_to_it() -> None:
    found = fields.extract(pdftext.extract_pages(invoice_pdfs.ruled_table().pdf))

    assert found.fields["total"].confidence > found.fields["subtotal"].confidence


@pytest.mark.parametrize("name", list(invoice_pdfs.HOSTILE))
def test_a_hostile_file_fails_readably_within_bounds(name: str) -> None:
    # Given a hostile file
    data = invoice_pdfs.HOSTILE[name]()
    limits = pdftext.Limits(seconds=10)

    # When it is read
    started = time.monotonic()
    with pytest.raises(pdftext.ExtractionFailed) as failure:
        pdftext.extract_pages(data, limits)

    # Then it fails with a reason a person can read, in bounded time (the child had bounded memory)
    assert time.monotonic() - started < limits.seconds + 2
    assert str(failure.value).endswith(".") and "Traceback" not in str(failure.value)


def test_an_endless_read_is_stopped_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def forever(data: bytes, limits: pdftext.Limits) -> list[pdftext.Page]:
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(pdftext, "_pypdf_pages", forever)
    started = time.monotonic()
    with pytest.raises(pdftext.ExtractionFailed, match="longer than"):
        pdftext.extract_pages(invoice_pdfs.ruled_table().pdf, pdftext.Limits(seconds=1))
    assert time.monotonic() - started < 3


def test_a_read_that_needs_too_much_memory_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    def hungry(data: bytes, limits: pdftext.Limits) -> list[pdftext.Page]:
        hoard = []
        while True:
            hoard.append(bytearray(50 * 1024 * 1024))

    monkeypatch.setattr(pdftext, "_pypdf_pages", hungry)
    with pytest.raises(pdftext.ExtractionFailed, match="too much memory"):
        pdftext.extract_pages(b"%PDF-1.7", pdftext.Limits(memory_bytes=200 * 1024 * 1024))


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [("1.234,56", ",", "1234.56"), ("1,234.56", ".", "1234.56"), ("12,49", ",", "12.49"), ("(5.00)", ".", "-5.00")],
)
def test_amounts_follow_the_documents_locale(text: str, separator: str, expected: str) -> None:
    assert fields.to_decimal(text, separator) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-05", "2026-03-05"),
        ("05.03.2026", "2026-03-05"),
        ("March 5, 2026", "2026-03-05"),
        ("5th March 2026", "2026-03-05"),
        ("5. März 2026", "2026-03-05"),
        ("31/01/2026", "2026-01-31"),
    ],
)
def test_dates_iso_numeric_and_written(text: str, expected: str) -> None:
    assert str(fields.find_date(text, day_first=True)) == expected


@pytest.mark.parametrize("pages", [1, 20])
def test_parse_time_and_peak_memory_per_page(pages: int, capsys: pytest.CaptureFixture[str]) -> None:
    data = invoice_pdfs.invoice_of_pages(pages)
    tracemalloc.start()
    started = time.perf_counter()
    found = fields.extract(pdftext.extract_pages_in_process(data))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with capsys.disabled():
        print(f"\n{pages} page(s): {elapsed / pages * 1000:.1f} ms/page, peak {peak / 1024 / 1024:.1f} MiB")
    assert len(found.items) == pages * 30
    assert elapsed / pages < 1.0 and peak < 200 * 1024 * 1024
