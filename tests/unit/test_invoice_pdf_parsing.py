"""Invoice PDFs in six layouts parse into exactly their fields and line items; hostile files, and
files made to slow the extraction down, end as a readable failure within a time and memory bound."""

from __future__ import annotations

import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from invoice_api import pdftext
from invoice_api.reading import invoice
from unit import invoice_pdfs

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize("layout", invoice_pdfs.LAYOUTS, ids=lambda make: make.__name__)
def test_each_layout_parses_into_its_fields_and_line_items(layout: Callable[[], invoice_pdfs.Sample]) -> None:
    # Given an invoice PDF in this layout
    sample = layout()

    # When it is read, in the bounded child
    found = pdftext.read(sample.pdf, invoice.read)

    # Then every field and every line item is what the invoice says, with nothing to review
    assert {name: found.fields[name].value for name in sample.fields if name in found.fields} == sample.fields
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in found.items] == sample.items
    assert all(0 < f.confidence <= 1 and f.page >= 1 and f.line >= 1 for f in found.fields.values())
    assert found.review_reasons == []


def test_amounts_that_add_up_are_trusted_more_than_a_field_nothing_confirms() -> None:
    # Given an invoice whose items, subtotal, tax and total add up
    found = pdftext.read(invoice_pdfs.ruled_table().pdf, invoice.read)

    # Then its amounts carry the highest confidence, above what a label alone earns
    assert found.fields["total"].confidence >= 0.95 and found.fields["subtotal"].confidence >= 0.95
    assert found.items_confidence >= 0.95


@pytest.mark.parametrize("name", list(invoice_pdfs.HOSTILE))
def test_a_hostile_file_fails_readably_within_bounds(name: str) -> None:
    # Given a hostile file
    data = invoice_pdfs.HOSTILE[name]()
    limits = pdftext.Limits(seconds=10)

    # When it is read and interpreted
    started = time.monotonic()
    try:
        reading = pdftext.read(data, invoice.read, limits)
    except pdftext.ExtractionFailed as failure:
        # Then it fails with a reason a person can read, in bounded time (the child had bounded memory)
        assert str(failure).endswith(".") and "Traceback" not in str(failure)
    else:
        # ... or it is read as what it is: no invoice in it
        assert not reading.fields and not reading.items
    assert time.monotonic() - started < limits.seconds + 2


def test_a_line_of_numbers_is_read_in_linear_time() -> None:
    # Given the 2.5 KB PDF that used to keep extraction busy for minutes: one long line of numbers
    data = invoice_pdfs.line_of_numbers()
    assert len(data) < 4096

    # When it is read and interpreted (in the bounded child)
    started = time.monotonic()
    reading = pdftext.read(data, invoice.read, pdftext.Limits(seconds=10))

    # Then it is done in well under a second, and there is no invoice in it to trust
    assert time.monotonic() - started < 2
    assert not any(found.confidence >= 0.9 for found in reading.fields.values())


def test_slow_interpretation_is_stopped_at_the_deadline_like_slow_reading() -> None:
    def forever(pages: list[pdftext.Page]) -> None:
        while True:
            time.sleep(0.01)

    started = time.monotonic()
    with pytest.raises(pdftext.ExtractionFailed, match="longer than"):
        pdftext.read(invoice_pdfs.ruled_table().pdf, forever, pdftext.Limits(seconds=1))
    assert time.monotonic() - started < 3


def test_a_bug_in_interpretation_is_our_failure_not_the_files() -> None:
    def broken(pages: list[pdftext.Page]) -> None:
        raise KeyError("oops")

    with pytest.raises(pdftext.InterpretationFailed, match="our fault") as failure:
        pdftext.read(invoice_pdfs.ruled_table().pdf, broken)
    assert "KeyError" in failure.value.detail


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
    ("make", "says"),
    [(invoice_pdfs.image_only, "no text layer"), (invoice_pdfs.stamp_over_image, "is a scan")],
    ids=["image only", "scanner stamp over an image"],
)
def test_a_scan_is_said_to_be_a_scan(make: Callable[[], bytes], says: str) -> None:
    # Given a scanned invoice: an image, with at most a scanner app's stamp as text
    # When it is read
    reading = pdftext.read(make(), invoice.read)

    # Then nothing is guessed from the stamp, and the reason says it is a scan
    assert reading.scan is not None and says in reading.scan
    assert not reading.fields and not reading.items


@pytest.mark.parametrize("pages", [1, 20])
def test_parse_time_and_peak_memory_per_page(pages: int, capsys: pytest.CaptureFixture[str]) -> None:
    data = invoice_pdfs.invoice_of_pages(pages)
    invoice.prepare()
    pdftext.extract_pages_in_process(data)  # pypdf imported, as in the function before it forks
    tracemalloc.start()
    started = time.perf_counter()
    found = invoice.read(pdftext.extract_pages_in_process(data))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with capsys.disabled():
        print(f"\n{pages} page(s): {elapsed / pages * 1000:.1f} ms/page, peak {peak / 1024 / 1024:.1f} MiB")
    # Speed is the bench's to measure (bench/parsing.py); here only that it reads and stays small.
    assert len(found.items) == pages * 30
    assert peak < 200 * 1024 * 1024


@pytest.mark.parametrize("pattern", ["Total ", "1,5 ", "a, ", "$ ", "Rechnung Nr. 1 vom 5.3.2026 "])
def test_a_huge_line_of_one_pattern_is_read_in_time_linear_in_its_length(pattern: str) -> None:
    # Given 100 KB of text on one line, of a kind that would make quadratic code take minutes
    page = pdftext.Page(1, [pdftext.Fragment(pattern * (100_000 // len(pattern)), 10, 800, 10)])
    invoice.prepare()

    # When it is read
    started = time.perf_counter()
    invoice.read([page])

    # Then it takes seconds at most, far inside the reader child's deadline
    assert time.perf_counter() - started < 5
