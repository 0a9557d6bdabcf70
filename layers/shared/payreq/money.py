"""Money: decimal amounts that fit their ISO 4217 currency. Never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

MAX_AMOUNT = Decimal("9999999999999999.9999")  # what NUMERIC(20, 4) holds


def minor_units(currency: str) -> int:
    """How many decimals the currency's amounts have (USD 2, JPY 0, BHD 3)."""
    from iso4217 import Currency

    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise ValueError(f"'{currency}' is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"'{currency}' is not a currency payments are made in")
    return int(exponent)


def check_fits(amount: Decimal, currency: str) -> None:
    """Raise ValueError if `amount` has more decimals than `currency` allows."""
    # Significant decimals only: the database hands back 1250.0000 for 1250.00.
    exponent = amount.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    allowed = minor_units(currency)
    if decimals > allowed:
        raise ValueError(f"{currency} amounts have at most {allowed} decimals")


def format_amount(amount: Decimal, currency: str) -> str:
    """The amount as JSON shows it: a string with exactly the currency's decimals ("1250.00")."""
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))


def parse_decimal(value: object) -> object:
    """A decimal string as a Decimal (a pydantic before-validator). Money arrives as a decimal string; a JSON
    number would already have passed through a float."""
    if isinstance(value, float):
        raise ValueError('send amounts as decimal strings, e.g. "1250.00", not as numbers')
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("not a decimal amount") from None
    return value


def _positive(amount: Decimal) -> Decimal:
    if not amount.is_finite() or amount <= 0:
        raise ValueError("must be greater than 0")
    if amount > MAX_AMOUNT:
        raise ValueError("is too large")
    return amount


def _currency(code: str) -> str:
    minor_units(code)
    return code


# An amount the API shows is always a decimal string.
AS_DECIMAL_STRING = PlainSerializer(lambda amount: str(amount), return_type=str, when_used="json")
Amount = Annotated[Decimal, BeforeValidator(parse_decimal), AfterValidator(_positive), AS_DECIMAL_STRING]
CurrencyCode = Annotated[
    str, BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value), AfterValidator(_currency)
]
