"""A payment method's details, validated for its type and masked: what may be stored of them.

Errors name the field at fault (`field_error`), so a request body's validation and a change's
report it the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stdnum import bic, iban
from stdnum.us import rtn

from payment_api.sensitive import last4
from payreq.http.models import field_error

if TYPE_CHECKING:
    from collections.abc import Callable


def masked_details(method_type: str, details: dict[str, Any]) -> dict[str, Any]:
    """Validate a method's details for its type and keep only what may be stored."""
    given = _Given(method_type, details)
    stored = _MASKS.get(method_type, _other)(given)
    return {key: value for key, value in stored.items() if value is not None}


class _Given:
    """The details as sent, read one field at a time."""

    def __init__(self, method_type: str, details: dict[str, Any]) -> None:
        self.method_type, self.details = method_type, details

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.details.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise field_error(f"details.{name}", f"details.{name} is required for {self.method_type}")
            return None
        if not isinstance(value, str) or len(value) > 200:
            raise field_error(f"details.{name}", f"details.{name} must be text of at most 200 characters")
        return value.strip()


def _bank(given: _Given) -> dict[str, Any]:
    stored = _account(given)
    if given.method_type == "wire":
        swift = given.text("swiftBic", required=True)
        if not bic.is_valid(swift or ""):
            raise field_error("details.swiftBic", "details.swiftBic is not a valid BIC")
        stored["swiftBic"] = bic.compact(swift or "")
    stored["bankName"] = given.text("bankName")
    return stored


def _account(given: _Given) -> dict[str, Any]:
    """An IBAN, masked; or an account's last four digits with its routing number."""
    account_iban, account = given.text("iban"), given.text("accountNumber")
    if account_iban:
        if not iban.is_valid(account_iban):
            raise field_error("details.iban", "details.iban is not a valid IBAN (its checksum fails)")
        compact = iban.compact(account_iban)
        return {"iban": f"{compact[:2]}** **** {compact[-4:]}"}
    if account:
        routing = given.text("routingNumber", required=given.method_type == "bank_transfer")
        if routing and not rtn.is_valid(routing):
            raise field_error("details.routingNumber", "details.routingNumber is not a valid ABA routing number")
        return {"accountLast4": last4(account), "routingNumber": routing}
    raise field_error(
        "details.iban",
        f"details.iban, or details.accountNumber with a routing number, is required for {given.method_type}",
    )


def _card(given: _Given) -> dict[str, Any]:
    brand, digits = given.text("brand", required=True), given.text("last4", required=True)
    month, year = given.details.get("expiryMonth"), given.details.get("expiryYear")
    if not (digits or "").isdigit() or len(digits or "") != 4:
        raise field_error("details.last4", "details.last4 must be exactly 4 digits")
    if not isinstance(month, int) or not 1 <= month <= 12 or not isinstance(year, int):
        raise field_error(
            "details.expiryMonth", "details.expiryMonth (1-12) and details.expiryYear are required for card"
        )
    if (year, month) < (datetime.now(UTC).year, datetime.now(UTC).month):
        raise field_error("details.expiryYear", "the card has expired")
    return {"brand": brand, "last4": digits, "expiryMonth": month, "expiryYear": year}


def _check(given: _Given) -> dict[str, Any]:
    return {"mailingAddress": given.text("mailingAddress", required=True)}


def _other(given: _Given) -> dict[str, Any]:
    return {"description": given.text("description", required=True)}


_MASKS: dict[str, Callable[[_Given], dict[str, Any]]] = {
    "bank_transfer": _bank,
    "wire": _bank,
    "card": _card,
    "check": _check,
}
