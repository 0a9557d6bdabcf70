"""Card numbers are recognised however a person types them, and only card numbers."""

from __future__ import annotations

import pytest

from payreq.card_numbers import MASK, contains_card_number, mask, paths_with_card_numbers, refuse_card_numbers
from payreq.errors import InvalidInput
from payreq.jsonable import REDACTED, redacted

VISA, AMEX, MASTERCARD = "4111111111111111", "378282246310005", "5555555555554444"


@pytest.mark.parametrize(
    "text",
    [
        VISA,
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111  1111  1111  1111",
        "4111\u00a01111\u00a01111\u00a01111",
        "4111\u202f1111\u202f1111\u202f1111",
        "4111\u200b1111\u200b1111\u200b1111",
        "\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11",
        "\u0664\u0661\u0661\u0661" * 1 + "\u0661" * 12,
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        f"pay with {AMEX} please",
        "3782 822463 10005",
        f"ref 12345 - {MASTERCARD}",
        f"card:{VISA}, exp 12/30",
        "6011000990139424",
        "4222222222222",  # 13 digits
    ],
)
def test_a_card_number_is_found_whatever_its_spelling(text: str) -> None:
    assert contains_card_number(text)
    assert "1111 1111" not in mask(text)
    assert MASK in mask(text)


@pytest.mark.parametrize(
    "text",
    [
        "INV-2026-0042, total 1,250.00 EUR",
        "+49 30 1234 5678",
        "4111 1111 1111 1112",  # fails the Luhn check
        "12345678901234567890123",  # longer than any card number
        "Order 20261122 of 2026-11-22",
        "PR-2026-000123",
        "",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert not contains_card_number(text)
    assert mask(text) == text


def test_a_bank_account_number_is_refused_only_when_it_looks_like_a_card() -> None:
    assert paths_with_card_numbers({"details": {"accountNumber": "79927398713"}}) == []
    assert paths_with_card_numbers({"details": {"accountNumber": VISA}}) == ["details.accountNumber"]


def test_the_refusal_names_every_field_holding_one() -> None:
    body = {"title": "ok", "services": [{"description": "x"}, {"description": f"card {VISA}"}], "note": AMEX}

    with pytest.raises(InvalidInput) as refused:
        refuse_card_numbers(body)

    assert refused.value.code == "card_number_refused"
    assert [detail["field"] for detail in refused.value.details] == ["services[1].description", "note"]


def test_finding_is_linear_in_the_text() -> None:
    # 200,000 characters of digit groups: must not backtrack or compare every pair of groups.
    assert not contains_card_number("12 " * 66_000 + "3")


def test_the_audit_writer_masks_card_numbers_and_redacts_secrets_by_exact_name() -> None:
    value = {
        "description": f"pay {VISA}",
        "tokenId": "tok-123",
        "token": "secret-value",
        "password_hash": "x",
        "nested": [{"cardNumber": "4111"}],
    }

    assert redacted(value) == {
        "description": f"pay {MASK}",
        "tokenId": "tok-123",
        "token": REDACTED,
        "password_hash": REDACTED,
        "nested": [{"cardNumber": REDACTED}],
    }


def test_the_audit_writer_keeps_an_event_whose_details_hold_a_nul() -> None:
    # JSONB refuses NUL: the event would be lost with it, so the character is replaced.
    assert redacted({"next": "/prs\x00/evil"}) == {"next": "/prs\ufffd/evil"}


def test_identifiers_are_not_card_numbers() -> None:
    # Ids travel in every body (approvers, invoices): their digit groups pass Luhn one time in ten.
    import uuid

    ids = [str(uuid.uuid4()) for _ in range(5000)]
    assert [found for found in ids if contains_card_number(found)] == []
    assert paths_with_card_numbers({"approvers": ids[:50], "hash": "3" * 16 + "a" * 48}) == []
    # ... while a card number beside an id is still found
    assert contains_card_number(f"{ids[0]} paid with {VISA}")


def test_a_uuid_whose_digit_groups_pass_the_luhn_check_is_left_alone() -> None:
    # Its first three groups read 4111111111111111, a Luhn-valid card number.
    crafted = "41111111-1111-1111-1111-aaaaaaaaaaaa"

    assert not contains_card_number(crafted)
    assert contains_card_number(crafted.replace("-", " ")[:18])  # the same digits, typed as a card


def test_a_timestamp_whose_time_passes_the_luhn_check_is_left_alone() -> None:
    # Given timestamps with microseconds and an offset, as Python writes them (a delegation's endsAt):
    # their time's digit groups (04:50:33.008123+00:00, 16 digits) pass Luhn one time in ten
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 12, 2, 4, 50, tzinfo=UTC)
    stamps = [(start + timedelta(microseconds=7919 * step)).isoformat() for step in range(5000)]

    # Then none of them is taken for a card number, while a card number beside one still is
    assert [found for found in stamps if contains_card_number(found)] == []
    assert contains_card_number(f"{stamps[0]} paid with {VISA}")
