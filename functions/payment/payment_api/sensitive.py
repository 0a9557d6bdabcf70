"""Card data must never be stored: full card numbers are refused in every request body by the
layer (`payreq.card_numbers`); what a payment method keeps of an account is its last digits."""

from __future__ import annotations

import re


def last4(value: str) -> str:
    return re.sub(r"\W", "", value)[-4:]
