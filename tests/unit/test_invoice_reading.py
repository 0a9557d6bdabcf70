"""The pieces of reading an invoice: numbers in every grouping style, dates in every order and
language, labels anywhere in a line, values beside or under their labels, the issuer told from the
customer, and totals chosen (and trusted) by their arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from invoice_api import pdftext
from invoice_api.pdftext import Fragment, Page
from invoice_api.reading import invoice, vocabulary
from invoice_api.reading.dates import dates_in, order_of
from invoice_api.reading.numbers import decimal_mark, numbers_in
from invoice_api.reading.totals import Candidate, reconcile
from unit import hand_made_invoices


def page(*rows: tuple[float, float, str], number: int = 1, size: float = 10) -> Page:
    """A page from (x, y-from-top, text) fragments, in points."""
    return Page(number, [Fragment(text, x, 842 - y, size) for x, y, text in rows])


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("1,234.56", ".", "1234.56"),
        ("1.234,56", ",", "1234.56"),
        ("1 234,56", ",", "1234.56"),
        ("1\u00a0234,56", ",", "1234.56"),  # no-break space
        ("1\u202f234,56", ",", "1234.56"),  # narrow no-break space
        ("1'234.56", ".", "1234.56"),
        ("1\u2019234.56", ".", "1234.56"),
        ("1,23,456.78", ".", "123456.78"),  # Indian lakh grouping
        ("(1,234.56)", ".", "-1234.56"),
        ("1.234,56-", ",", "-1234.56"),
        ("\u221212.00", ".", "-12.00"),
        ("1,234", ".", "1234"),  # a lone comma before three digits groups in a dot-decimal document
        ("1,234", ",", "1.234"),  # ... and is the decimal mark in a comma-decimal one
    ],
)
def test_an_amount_reads_the_same_in_every_grouping_style(text: str, mark: str, expected: str) -> None:
    assert [number.value for number in numbers_in(text, mark)] == [Decimal(expected)]


def test_a_space_grouped_total_is_not_split_into_small_numbers() -> None:
    # The old parser read "12 345,60" as 345.60 (200 times too small)
    assert [number.value for number in numbers_in("Total 12 345,60 EUR", ",")] == [Decimal("12345.60")]


def test_the_documents_decimal_mark_comes_from_its_unambiguous_amounts_not_its_dates() -> None:
    assert decimal_mark("Datum 05.03.2026 06.03.2026 07.03.2026 Betrag 12,50 Summe 1.234,50") == ","
    assert decimal_mark("Date 2026-03-05 Total 1,234.50") == "."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-05", date(2026, 3, 5)),
        ("2026/03/05", date(2026, 3, 5)),
        ("05.03.2026", date(2026, 3, 5)),
        ("5 March 2026", date(2026, 3, 5)),
        ("March 5, 2026", date(2026, 3, 5)),
        ("5. März 2026", date(2026, 3, 5)),
        ("5 mars 2026", date(2026, 3, 5)),
        ("1er mars 2026", date(2026, 3, 1)),
        ("5 de marzo de 2026", date(2026, 3, 5)),
        ("5 marzo 2026", date(2026, 3, 5)),
        ("5 maart 2026", date(2026, 3, 5)),
        ("5 de março de 2026", date(2026, 3, 5)),
        ("05-Mar-2026", date(2026, 3, 5)),
    ],
)
def test_dates_in_iso_numeric_and_written_forms(text: str, expected: date) -> None:
    assert [found.value for found in dates_in(text, "dmy")] == [expected]


def test_a_swappable_date_is_read_in_the_order_the_documents_other_dates_use() -> None:
    # Given a document whose due date can only be month first (04/14/2026)
    order = order_of(["Date: 03/05/2026", "Due: 04/14/2026"], month_first_locale=False)

    # Then its issue date 03/05/2026 is 5 March, whatever the locale would guess
    assert order == "mdy"
    assert dates_in("03/05/2026", order)[0].value == date(2026, 3, 5)
    # ... and without such a date the locale decides, and the date is marked ambiguous
    assert dates_in("03/05/2026", order_of(["03/05/2026"], month_first_locale=False))[0].ambiguous


def test_the_longest_label_wins_so_a_pre_tax_total_is_a_subtotal() -> None:
    kinds = [hit.term.kind for hit in vocabulary.labels().hits(vocabulary.fold("Total excl. VAT 100.00"))]
    assert kinds == ["subtotal"]
    assert [hit.term.kind for hit in vocabulary.labels().hits(vocabulary.fold("USt-IdNr. DE123"))] == ["ignore"]


def test_labels_are_found_in_the_middle_of_a_line_and_in_seven_languages() -> None:
    for text, kind in [
        ("Please find our Rechnungsnummer: 77 below", "invoice_number"),
        ("Numéro de facture F-1", "invoice_number"),
        ("Fecha de vencimiento", "due_date"),
        ("Totale da pagare", "total"),
        ("Te betalen", "total"),
        ("Total a pagar", "total"),
        ("Imponibile", "subtotal"),
    ]:
        assert kind in [hit.term.kind for hit in vocabulary.labels().hits(vocabulary.fold(text))], text


def test_a_row_of_labels_with_the_values_underneath_is_read() -> None:
    # Given a header row of labels and their values on the line below
    reading = invoice.read(
        [
            page(
                (40, 40, "Nordwind Beratung GmbH"),
                (40, 100, "Rechnungsnummer"),
                (200, 100, "Rechnungsdatum"),
                (360, 100, "Fällig am"),
                (40, 114, "RE-2026-118"),
                (200, 114, "12.03.2026"),
                (360, 114, "11.04.2026"),
            )
        ]
    )

    # Then each value is its label's
    assert reading.fields["invoice_number"].value == "RE-2026-118"
    assert reading.fields["issue_date"].value == date(2026, 3, 12)
    assert reading.fields["due_date"].value == date(2026, 4, 11)


def test_the_vendor_is_the_issuer_not_the_bill_to_block_beside_it() -> None:
    # Given a customer block at the top left and the issuer's letterhead at the right, in larger type
    rows = [
        Fragment("Bill to:", 40, 800, 10),
        Fragment("Payreq Customer GmbH", 40, 786, 10),
        Fragment("Main Street 1", 40, 772, 10),
        Fragment("Blue Sky Hosting Inc.", 360, 800, 16, bold=True),
        Fragment("400 Market Street", 360, 780, 10),
        Fragment("Invoice No.: BS-981", 40, 720, 10),
    ]
    reading = invoice.read([Page(1, rows)])

    assert reading.fields["vendor"].value == "Blue Sky Hosting Inc."


def test_a_scanners_stamp_over_an_image_is_not_read_as_the_invoice() -> None:
    stamp = Page(1, [Fragment("Scanned with DocScan 2026-03-05", 40, 20, 7)], images=1)

    reading = invoice.read([stamp])

    assert reading.scan is not None and "scan" in reading.scan and not reading.fields


def test_totals_are_chosen_by_their_arithmetic_wherever_they_are_printed() -> None:
    # Given a pre-tax "Total" row, a tax breakdown and its printed sum, and the amount to pay
    candidates = [
        Candidate("total", Decimal("150.00"), strong=False, line=10),
        Candidate("tax", Decimal("19.00"), strong=True, line=11, rate=Decimal(19)),
        Candidate("tax", Decimal("3.50"), strong=True, line=12, rate=Decimal(7)),
        Candidate("tax", Decimal("22.50"), strong=True, line=13),
        Candidate("total", Decimal("172.50"), strong=True, line=14),
    ]

    # When they are reconciled with the items (150.00)
    choice = reconcile(candidates, Decimal("150.00"))

    # Then the pre-tax row is the subtotal, the tax is the sum once, and the total is the amount to pay
    assert choice.subtotal is not None and choice.subtotal.value == Decimal("150.00")
    assert choice.tax == Decimal("22.50") and [t.value for t in choice.taxes] == [Decimal("19.00"), Decimal("3.50")]
    assert choice.total is not None and choice.total.value == Decimal("172.50")
    assert choice.total_agrees and choice.items_agree and not choice.reasons


def test_totals_that_do_not_add_up_are_flagged_not_trusted() -> None:
    candidates = [
        Candidate("subtotal", Decimal("100.00"), strong=True, line=1),
        Candidate("tax", Decimal("19.00"), strong=True, line=2),
        Candidate("total", Decimal("129.00"), strong=True, line=3),
    ]

    choice = reconcile(candidates, Decimal("90.00"))

    assert not choice.total_agrees and not choice.items_agree
    assert any("not what" in reason for reason in choice.reasons)
    assert any("add up to 90.00" in reason for reason in choice.reasons)


def test_a_total_that_adds_up_is_not_trusted_when_another_total_below_says_otherwise() -> None:
    # Given a breakdown whose gross adds up, and a different amount to pay printed under it
    candidates = [
        Candidate("subtotal", Decimal("100.00"), strong=True, line=1),
        Candidate("tax", Decimal("19.00"), strong=True, line=2),
        Candidate("total", Decimal("119.00"), strong=False, line=3),
        Candidate("total", Decimal("120.00"), strong=False, line=4),
    ]

    choice = reconcile(candidates, Decimal("100.00"))

    # Then the one that adds up is chosen, but the disagreement is a reason to review it
    assert choice.total is not None and choice.total.value == Decimal("119.00")
    assert choice.total_disputed and any("Two totals" in reason for reason in choice.reasons)


def _table_page(*rows: tuple[str, ...], title: str = "INVOICE") -> Page:
    """An invoice page whose table has description, quantity, unit, unit price and amount columns."""
    columns = (40, 300, 340, 400, 480)
    fragments = [
        Fragment("Lumen Software GmbH", 40, 800, 16, bold=True),
        Fragment(title, 40, 770, 12),
        Fragment("Invoice No.: LS-1001", 40, 750, 10),
        Fragment("Invoice Date: 2026-03-05", 40, 736, 10),
    ]
    y = 700.0
    for row in (("Description", "Qty", "Unit", "Unit price", "Amount"), *rows):
        for x, text in zip(columns, row, strict=False):
            if text:
                fragments.append(Fragment(text, x, y, 10))
        y -= 14
    return Page(1, fragments)


def test_a_table_row_keeps_its_unit_its_wrapped_description_and_an_amount_only_discount() -> None:
    # Given a table with a unit column, a description wrapped onto a second line and a discount row
    page = _table_page(
        ("Cable 1,5 m, shielded", "4", "pcs", "12.50", "50.00"),
        ("Installation on site,",),
        ("two technicians", "2", "h", "80.00", "160.00"),
        ("Loyalty discount", "", "", "", "-10.00"),
    )
    page.fragments += [Fragment("Subtotal", 400, 620, 10), Fragment("200.00", 480, 620, 10)]
    page.fragments += [Fragment("Total EUR", 400, 606, 10), Fragment("200.00", 480, 606, 10)]

    # When it is read
    reading = invoice.read([page])

    # Then each line is what a reader sees, the discount included, and they add up to the subtotal
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in reading.items] == [
        ("Cable 1,5 m, shielded", Decimal(4), Decimal("12.50"), Decimal("50.00")),
        ("Installation on site, two technicians", Decimal(2), Decimal("80.00"), Decimal("160.00")),
        ("Loyalty discount", Decimal(1), Decimal("-10.00"), Decimal("-10.00")),
    ]
    assert reading.items_confidence >= 0.95 and not reading.review_reasons


def test_a_credit_note_is_negative_however_it_prints_its_amounts() -> None:
    # Given a credit note ("Gutschrift") printing its amounts without a sign
    page = _table_page(("Returned chair", "1", "", "100.00", "100.00"), title="Gutschrift")
    page.fragments += [Fragment("Total EUR", 400, 650, 10), Fragment("100.00", 480, 650, 10)]

    reading = invoice.read([page])

    assert reading.document_type == "credit_note"
    assert reading.fields["total"].value == Decimal("-100.00")
    assert [(i.unit_price, i.amount) for i in reading.items] == [(Decimal("-100.00"), Decimal("-100.00"))]


@pytest.mark.parametrize(
    "names",
    [
        ("Description", "Qty.", "Unit price (EUR)", "Amount (EUR)"),
        ("Désignation", "Qté", "Prix €", "Montant HT (€)"),
        ("Descrizione", "Quantità", "Prezzo", "Importo in EUR"),
    ],
)
def test_a_table_header_is_recognised_with_currencies_and_units_in_its_names(names: tuple[str, ...]) -> None:
    from invoice_api.reading.layout import lines_of
    from invoice_api.reading.line_items import header_columns

    line = lines_of([page(*((40 + 110 * n, 100, name) for n, name in enumerate(names)))])[0]

    columns = header_columns(line)

    assert columns is not None
    assert [column.kind for column in columns] == ["description", "quantity", "unit_price", "amount"]


@pytest.mark.parametrize(
    "title",
    [
        "Rechnung Nr. 2026-0815 vom 05.03.2026",
        "Fattura n. 2026-0815 del 05/03/2026",
        "Facture n° 2026-0815 du 5 mars 2026",
    ],
)
def test_the_date_after_the_invoice_number_on_its_line_is_the_issue_date(title: str) -> None:
    reading = invoice.read([page((40, 40, "Schmidt Elektrotechnik GmbH"), (40, 100, title))])

    assert reading.fields["invoice_number"].value == "2026-0815"
    assert reading.fields["issue_date"].value == date(2026, 3, 5)


def test_a_withholding_tax_is_deducted_like_a_discount() -> None:
    # Given a Spanish freelancer's totals: base, VAT, IRPF withheld, and the invoice total
    reading = invoice.read(
        [
            page(
                (40, 40, "Laura Martín Gómez"),
                (40, 60, "Nº de factura: 2026/007"),
                (300, 200, "Base imponible"),
                (480, 200, "1.220,00 €"),
                (300, 214, "IVA 21%"),
                (480, 214, "256,20 €"),
                (300, 228, "IRPF -15%"),
                (480, 228, "-183,00 €"),
                (300, 242, "Total factura"),
                (480, 242, "1.293,20 €"),
            )
        ]
    )

    # Then the totals reconcile with the withholding as a deduction line
    assert reading.fields["total"].value == Decimal("1293.20") and reading.fields["total"].confidence >= 0.9
    assert [(item.description, item.amount) for item in reading.items] == [("IRPF -15%", Decimal("-183.00"))]


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        ("Payment terms: Net 30", date(2026, 4, 4)),
        ("Zahlbar innerhalb 14 Tagen ohne Abzug", date(2026, 3, 19)),
        ("Pagamento a 30 gg data fattura", date(2026, 4, 4)),
    ],
)
def test_without_a_due_date_the_payment_terms_give_one_to_review(terms: str, due: date) -> None:
    reading = invoice.read([page((40, 40, "Nordwind GmbH"), (40, 80, "Invoice date: 2026-03-05"), (40, 300, terms))])

    found = reading.fields["due_date"]
    assert found.value == due and found.confidence < 0.9


@pytest.mark.parametrize("name", list(hand_made_invoices.HAND_MADE))
def test_invoices_in_styles_the_corpus_does_not_draw_are_read_exactly(name: str) -> None:
    # Given an invoice drawn by hand in a style of its own
    sample = hand_made_invoices.HAND_MADE[name]()

    # When it is read
    reading = invoice.read(pdftext.extract_pages_in_process(sample.pdf))

    # Then every field and line is what the invoice says, and what adds up is trusted
    assert {field: reading.fields[field].value for field in sample.fields if field in reading.fields} == sample.fields
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in reading.items] == sample.items
    assert reading.fields["total"].confidence >= 0.95


def test_a_short_receipt_with_a_logo_is_read_not_taken_for_a_scan() -> None:
    # Given a one-line receipt under a logo image: few words, but an amount among them
    receipt = Page(
        1,
        [
            Fragment("Café Lumen", 40, 800, 14, bold=True),
            Fragment("Receipt no. 88213", 40, 780, 10),
            Fragment("Total EUR", 40, 760, 10),
            Fragment("7.40", 200, 760, 10),
        ],
        images=1,
    )

    reading = invoice.read([receipt])

    assert reading.scan is None and reading.fields["total"].value == Decimal("7.40")


def test_amounts_under_labels_we_do_not_know_are_taken_only_where_the_arithmetic_needs_them() -> None:
    # Given a table whose subtotal row ("Goods") and total row ("To settle") use unknown words
    page = _table_page(("Chair", "2", "", "50.00", "100.00"), ("Desk", "1", "", "150.00", "150.00"))
    page.fragments += [
        Fragment("Goods", 40, 650, 10),
        Fragment("250.00", 480, 650, 10),
        Fragment("VAT 20%", 400, 636, 10),
        Fragment("50.00", 480, 636, 10),
        Fragment("To settle", 360, 622, 10),
        Fragment("300.00", 480, 622, 10),
    ]

    reading = invoice.read([page])

    # Then the sum row is no item, both amounts are found by the arithmetic, and a person confirms them
    assert [item.description for item in reading.items] == ["Chair", "Desk"]
    assert (reading.fields["subtotal"].value, reading.fields["total"].value) == (Decimal("250.00"), Decimal("300.00"))
    assert reading.fields["total"].confidence < 0.9 and reading.needs_review


def test_header_values_under_unknown_labels_fill_missing_fields_for_a_person_to_check() -> None:
    # Given a header whose labels the vocabulary does not hold
    reading = invoice.read(
        [
            page(
                (40, 40, "Nordwind GmbH"),
                (40, 80, "Our ref: NW-2291"),
                (40, 94, "Raised on: 2026-03-05"),
                (40, 108, "Settle by: 2026-04-04"),
            )
        ]
    )

    # Then the reference and the dates are taken by elimination, each marked as a guess
    found = {
        name: (reading.fields[name].value, reading.fields[name].confidence)
        for name in ("invoice_number", "issue_date", "due_date")
    }
    assert found == {
        "invoice_number": ("NW-2291", 0.6),
        "issue_date": (date(2026, 3, 5), 0.55),
        "due_date": (date(2026, 4, 4), 0.55),
    }
    assert reading.needs_review
