"""Values that pass validation but PostgreSQL cannot store or compare (a NUL character in text, a
number beyond a column's precision) are the client's mistake: 422 in the envelope, never a 500."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from support.api_client import ApiClient


def test_a_nul_character_in_a_body_is_422(signed_in: Callable[..., ApiClient]) -> None:
    # Given someone entering an invoice
    clerk = signed_in("clerk@example.com", ("invoice.read", "invoice.write"))

    # When the vendor's name carries a NUL character
    response = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME\x00GmbH"})

    # Then the value is refused, and nothing was stored
    assert response.status == 422, response.body
    assert response.body["error"]["code"] == "validation_error"
    assert clerk.get("/api/v1/invoices").body["items"] == []


def test_a_nul_character_in_a_filter_is_422(signed_in: Callable[..., ApiClient]) -> None:
    reader = signed_in("reader@example.com", ("pr.read",))

    response = reader.get("/api/v1/prs", query={"q": "\x00"})

    assert response.status == 422, response.body


def test_a_filter_amount_beyond_the_columns_precision_is_422(signed_in: Callable[..., ApiClient]) -> None:
    reader = signed_in("reader@example.com", ("invoice.read",))

    response = reader.get("/api/v1/invoices", query={"totalMin": "1e30"})

    assert response.status == 422, response.body
    assert "out of the range" in response.body["error"]["message"]
