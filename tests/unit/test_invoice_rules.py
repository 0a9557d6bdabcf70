"""Invoice rules without I/O: duplicate keys, line checks, safe file names (transitions: test_invoice_state_machine)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoice_api import rules


@pytest.mark.parametrize("number", ["INV-0042", "inv 42", "INV42", "Inv_00042", " inv-0-0-42 "])
def test_invoice_numbers_ignore_case_separators_and_leading_zeros(number: str) -> None:
    assert rules.invoice_number_key(number) == "inv42"


def test_zeros_inside_a_number_count() -> None:
    assert rules.invoice_number_key("INV-1002") != rules.invoice_number_key("INV-102")


@pytest.mark.parametrize("vendor", ["ACME Hardware GmbH", "acme hardware", "ACME-Hardware, G.m.b.H.", "Acme Hardware"])
def test_vendors_ignore_case_punctuation_and_legal_form(vendor: str) -> None:
    assert rules.vendor_key(vendor) == "acmehardware"


def test_a_line_amount_must_be_quantity_times_unit_price_within_rounding() -> None:
    good = {"quantity": Decimal("3"), "unit_price": Decimal("0.333"), "amount": Decimal("1.00")}
    bad = {"quantity": Decimal("3"), "unit_price": Decimal("10"), "amount": Decimal("31")}
    assert rules.lines_problem([good]) is None
    assert "line 1" in (rules.lines_problem([bad]) or "")


def test_the_total_check() -> None:
    lines = [{"amount": Decimal("10.00")}, {"amount": Decimal("5.50")}]
    assert rules.total_check(lines, Decimal("1.50"), Decimal("17.00")) == "matches"
    assert rules.total_check(lines, None, Decimal("17.00")) == "mismatch"
    assert rules.total_check([], None, Decimal("17.00")) == "unknown"
    assert rules.total_check(lines, None, None) == "unknown"


@pytest.mark.parametrize(
    ("name", "kind", "safe"),
    [
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("März Rechnung.PDF", "application/pdf", "Marz_Rechnung.pdf"),
        ("scan.jpeg", "image/jpeg", "scan.jpeg"),
        ("...", "image/png", "attachment.png"),
        ("invoice.exe", "application/pdf", "invoice.exe.pdf"),
    ],
)
def test_file_names_are_made_safe_for_keys_and_headers(name: str, kind: str, safe: str) -> None:
    assert rules.safe_file_name(name, kind) == safe
