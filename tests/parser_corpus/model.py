"""A random but consistent invoice: parties, dates, items, discounts, fees, taxes and totals, and the
truth a reader should get from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from parser_corpus.locales import CITIES, DETAILS, LABELS, LOCALES, NAMES, STREETS, TRADES, WORDS, Locale

if TYPE_CHECKING:
    import random

RATES = {"en": (20, 5), "de": (19, 7), "fr": (20, 10), "es": (21, 10), "it": (22, 10), "nl": (21, 9), "pt": (23, 6)}


@dataclass
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    rate: int
    unit: str = ""
    wrapped: list[str] = field(default_factory=list)


@dataclass
class Invoice:
    locale: Locale
    credit: bool
    vendor: str
    vendor_address: list[str]
    buyer: str
    buyer_address: list[str]
    number: str
    issue: date
    due: date
    date_style: str
    lines: list[Line]
    discount: Decimal | None  # summary-level, after the subtotal
    discount_rate: int | None
    fee: Decimal | None
    taxes: list[tuple[int, Decimal]]
    subtotal: Decimal
    total: Decimal
    labels: dict[str, str]
    decimals: int

    def truth(self) -> dict[str, Any]:
        sign = -1 if self.credit else 1
        tax = sum((amount for _, amount in self.taxes), Decimal(0))
        items = [
            [line.description, str(line.quantity), str(sign * line.unit_price), str(sign * line.amount)]
            for line in self.lines
        ]
        if self.discount is not None:
            items.append([self.labels["discount"], "1", str(sign * self.discount), str(sign * self.discount)])
        if self.fee is not None:
            items.append([self.labels["fee"], "1", str(sign * self.fee), str(sign * self.fee)])
        return {
            "document_type": "credit_note" if self.credit else "invoice",
            "fields": {
                "vendor": self.vendor,
                "invoice_number": self.number,
                "issue_date": self.issue.isoformat(),
                "due_date": self.due.isoformat(),
                "currency": self.locale.currency,
                "subtotal": str(sign * self.subtotal),
                "tax": str(sign * tax),
                "total": str(sign * self.total),
            },
            "items": items,
        }


def _q(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def make(
    rng: random.Random,
    *,
    items: tuple[int, int] = (1, 9),
    credit: bool = False,
    locale: Locale | None = None,
    discount: bool | None = None,
    fee: bool | None = None,
    two_rates: bool | None = None,
    wrapped: bool = False,
    units: bool = False,
) -> Invoice:
    locale = locale or rng.choice(LOCALES)
    language = locale.language
    words = LABELS[language]
    labels = {key: rng.choice(values) for key, values in words.items()}
    decimals = 0 if locale.currency == "JPY" else 2
    vendor = f"{rng.choice(NAMES)} {rng.choice(TRADES[language])} {rng.choice(locale.legal_forms)}"
    buyer = f"{rng.choice(NAMES)} {rng.choice(TRADES[language])} {rng.choice(locale.legal_forms)}"
    while buyer.split()[0] == vendor.split()[0]:
        buyer = f"{rng.choice(NAMES)} {rng.choice(TRADES[language])} {rng.choice(locale.legal_forms)}"
    city = CITIES[locale.name]
    vendor_address = [STREETS[language].format(n=rng.randint(1, 120)), city]
    buyer_address = [STREETS[language].format(n=rng.randint(1, 120)), city]
    issue = date(2026, 1, 1) + timedelta(days=rng.randint(0, 330))
    due = issue + timedelta(days=rng.choice((7, 14, 30, 45, 60)))
    prefix = rng.choice(("INV-", "F-", "RE-", "FA", "", "NL", "2026/", "CN-" if credit else "S-"))
    number = (
        f"{prefix}{rng.randint(2026, 2026)}-{rng.randint(1, 99999):05d}"
        if rng.random() < 0.4
        else (f"{prefix}{rng.randint(100, 999999)}")
    )
    rates = RATES.get(language, (20, 5))
    if locale.currency in ("USD", "CAD", "INR", "JPY", "SEK", "CHF", "BRL"):
        rates = {
            "USD": (8, 0),
            "CAD": (13, 5),
            "INR": (18, 12),
            "JPY": (10, 8),
            "SEK": (25, 12),
            "CHF": (8, 2),
            "BRL": (17, 12),
        }[locale.currency]
    use_two = two_rates if two_rates is not None else rng.random() < 0.25
    count = rng.randint(*items)
    lines = []
    for _ in range(count):
        description = rng.choice(WORDS[language])
        if rng.random() < 0.5:
            description = f"{description} {rng.choice(DETAILS)}"
        quantity = (
            Decimal(rng.choice((1, 1, 2, 3, 4, 5, 10, 12, 25)))
            if rng.random() < 0.8
            else Decimal(rng.choice(("0.5", "1.5", "2.5", "7.25")))
        )
        unit_price = _q(Decimal(rng.randint(100, 250000)) / 100, decimals)
        if decimals == 0:
            unit_price = Decimal(rng.randint(100, 90000))
        amount = _q(quantity * unit_price, decimals)
        rate = rates[1] if use_two and rng.random() < 0.4 else rates[0]
        line = Line(
            description,
            quantity,
            unit_price,
            amount,
            rate,
            unit=rng.choice(("pcs", "h", "Stk", "un.", "x")) if units else "",
        )
        if wrapped and rng.random() < 0.5:
            extra = rng.sample(WORDS[language], 2)
            line.wrapped = [f"incl. {extra[0].lower()} and {extra[1].lower()}", f"ref. {rng.randint(1000, 9999)}"][
                : rng.randint(1, 2)
            ]
            line.description = " ".join([line.description, *line.wrapped])
        lines.append(line)
    if use_two and len({line.rate for line in lines}) < 2:
        lines[-1].rate = rates[1]
    subtotal = sum((line.amount for line in lines), Decimal(0))
    with_discount = discount if discount is not None else rng.random() < 0.2
    with_fee = fee if fee is not None else rng.random() < 0.2
    discount_rate = rng.choice((2, 3, 5, 10)) if with_discount else None
    discount_value = -_q(subtotal * discount_rate / 100, decimals) if discount_rate else None
    labels["discount"] = labels["discount"].format(rate=discount_rate)
    fee_value = _q(Decimal(rng.randint(500, 4000)) / 100, decimals) if with_fee else None
    base = subtotal + (discount_value or 0)
    by_rate: dict[int, Decimal] = {}
    for line in lines:
        by_rate[line.rate] = by_rate.get(line.rate, Decimal(0)) + line.amount
    if discount_value is not None:
        # The discount lowers every rate's base in proportion (applied to the main rate for simplicity).
        by_rate[rates[0]] = by_rate.get(rates[0], Decimal(0)) + discount_value
    if fee_value is not None:
        by_rate[rates[0]] = by_rate.get(rates[0], Decimal(0)) + fee_value
        base += fee_value
    taxes = [(rate, _q(amount * rate / 100, decimals)) for rate, amount in sorted(by_rate.items(), reverse=True)]
    total = base + sum((amount for _, amount in taxes), Decimal(0))
    return Invoice(
        locale,
        credit,
        vendor,
        vendor_address,
        buyer,
        buyer_address,
        number,
        issue,
        due,
        rng.choice(locale.dates),
        lines,
        discount_value,
        discount_rate,
        fee_value,
        taxes,
        subtotal,
        total,
        labels,
        decimals,
    )
