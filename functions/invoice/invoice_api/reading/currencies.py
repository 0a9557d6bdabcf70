"""Which currency a document is in: ISO 4217 codes (every active one) and common symbols.

A three-letter word counts as a currency code only beside an amount or after a "Currency" label,
so "ALL prices", "TOP quality" or "CUP" in a description do not make Albanian lek or Tongan pa'anga.
"$" alone is ambiguous: the document's other hints (country words, language) decide, else USD.
"""

from __future__ import annotations

import re
from functools import cache

# Longest first where one symbol contains another (R$ before $, kr. before kr).
SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "U$S": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "₱": "PHP",
    "₴": "UAH",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "Fr.": "CHF",
    "SFr.": "CHF",
    "lei": "RON",
    "Rs.": "INR",
}
AMBIGUOUS_DOLLAR = "$"


@cache
def codes() -> frozenset[str]:
    from iso4217 import Currency

    return frozenset(currency.code for currency in Currency if currency.exponent is not None)


@cache
def minor_units(code: str) -> int:
    from iso4217 import Currency

    try:
        return int(Currency(code).exponent or 0)
    except ValueError:
        return 2


_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_DIGIT_NEAR = re.compile(r"\d")


def codes_beside_amounts(text: str) -> list[tuple[str, int]]:
    """ISO codes written right before or after a number in this text, with their offsets."""
    found = []
    valid = codes()
    for match in _CODE.finditer(text):
        code = match[1]
        if code not in valid:
            continue
        before = text[max(0, match.start() - 3) : match.start()]
        after = text[match.end() : match.end() + 3]
        if _DIGIT_NEAR.search(before) or _DIGIT_NEAR.search(after) or text[match.end() :].strip(" :)") == "":
            found.append((code, match.start()))
    return found


def code_in(text: str) -> str | None:
    """An ISO code anywhere in a short text (after a "Currency" label)."""
    valid = codes()
    for match in _CODE.finditer(text.upper()):
        if match[1] in valid:
            return match[1]
    return None


@cache
def _symbol_pattern() -> re.Pattern[str]:
    symbols = sorted([*SYMBOLS, AMBIGUOUS_DOLLAR], key=len, reverse=True)
    # A symbol made of letters ("lei", "Ft", "zł") is a word of its own, not part of "Leistung".
    alternatives = [
        rf"(?<![^\W\d_]){re.escape(symbol)}(?![^\W\d_])" if symbol[-1].isalpha() else re.escape(symbol)
        for symbol in symbols
    ]
    return re.compile("|".join(alternatives))


def symbols_in(text: str) -> list[str]:
    """The symbols in the text, as written (so `$` stays ambiguous)."""
    return [match[0] for match in _symbol_pattern().finditer(text)]


def dollar_of(text: str) -> str:
    """Which dollar a `$` most likely is, from the country words of the document."""
    folded = text.lower()
    for code, words in (
        ("CAD", ("canada", "gst/hst", "hst", "ontario", "quebec", "british columbia")),
        ("AUD", ("australia", "abn", "nsw", "victoria", "queensland")),
        ("NZD", ("new zealand",)),
        ("SGD", ("singapore",)),
        ("HKD", ("hong kong",)),
        ("MXN", ("méxico", "mexico", "rfc")),
    ):
        if any(re.search(rf"\b{re.escape(word)}\b", folded) for word in words):
            return code
    return "USD"
