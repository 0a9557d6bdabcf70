"""Audit events keep what changed, and never a secret."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from payreq.audit import changed_fields
from payreq.jsonable import REDACTED, redacted


def test_an_update_keeps_only_the_fields_that_changed() -> None:
    before = {"title": "Laptops", "amount": Decimal("1250.00"), "currency": "EUR", "version": 3}
    after = {"title": "Laptops", "amount": Decimal("1300.00"), "currency": "EUR", "version": 4}

    old, new = changed_fields(before, after)

    assert old == {"amount": "1250.00", "version": 3}
    assert new == {"amount": "1300.00", "version": 4}


def test_a_create_keeps_everything_json_safe() -> None:
    pr_id = uuid.uuid4()

    old, new = changed_fields(None, {"id": pr_id, "due": date(2026, 12, 1), "amount": Decimal("9.99")})

    assert old is None
    assert new == {"id": str(pr_id), "due": "2026-12-01", "amount": "9.99"}


def test_secrets_are_redacted_at_any_depth() -> None:
    value = {"name": "cli", "token_hash": b"\x00", "nested": [{"password": "pw", "note": "ok"}], "session_id": "x"}

    assert redacted(value) == {
        "name": "cli",
        "token_hash": REDACTED,
        "nested": [{"password": REDACTED, "note": "ok"}],
        "session_id": REDACTED,
    }
