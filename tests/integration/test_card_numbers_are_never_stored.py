"""A card number typed into any free-text field of any entity is refused (422 card_number_refused,
naming the field) before anything is stored, so it can never reach the append-only audit log."""

from __future__ import annotations

import json
import unicodedata
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from integration.audit.test_no_secrets_in_audit import audit_log_text
from payreq.db.schema import approval_flow_templates, invoices, payment_requests, payments
from support.team import Team, decide, raise_request, submitted

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient

SPELLINGS = {
    "dots": "4111.1111.1111.1111",
    "slashes": "4111/1111/1111/1111",
    "double spaces": "4111  1111  1111  1111",
    "no-break spaces": "4111\u00a01111\u00a01111\u00a01111",
    # What a Japanese keyboard types: fullwidth digits and an ideographic space.
    "fullwidth digits": "\u3000".join(["\uff14\uff11\uff11\uff11", *["\uff11" * 4] * 3]),
    "amex in words": "card 3782 822463 10005 exp 12/30",
}


def rows(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def never_in_the_audit_log(engine: Engine, pan: str) -> None:
    """Neither the number as typed (raw or as JSON escapes it) nor its bare digits: a search for a
    fragment like "1111" would also find it in the log's random ids and hashes."""
    text = audit_log_text(engine)
    digits = "".join(str(unicodedata.digit(character)) for character in pan if character.isdigit())
    assert pan not in text and json.dumps(pan)[1:-1] not in text
    assert digits[:12] not in text


def refused(response: Any, field: str) -> None:
    assert (response.status, response.error_code) == (422, "card_number_refused"), response.body
    assert [detail["field"] for detail in response.body["error"]["details"]] == [field]
    assert "4111" not in str(response.body) and "3782" not in str(response.body)


@pytest.mark.parametrize("pan", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_payment_request_description_with_a_card_number_is_refused(team: Team, engine: Engine, pan: str) -> None:
    response = raise_request(team.requester, [team.step("M", "anyof", team.bob)], description=f"Pay by card {pan}")

    refused(response, "description")
    assert rows(engine, payment_requests) == 0
    never_in_the_audit_log(engine, pan)


def test_a_payment_reference_with_a_card_number_is_refused(team: Team, engine: Engine) -> None:
    pr_id = submitted(team.requester, [team.step("M", "anyof", team.bob)])
    decide(team.bob, pr_id, "approve")

    response = team.treasurer.browser.post(
        f"/api/v1/prs/{pr_id}/payments",
        json_body={"amount": "10.00", "currency": "EUR", "externalReference": SPELLINGS["dots"]},
    )

    refused(response, "externalReference")
    assert rows(engine, payments) == 0
    assert "4111" not in audit_log_text(engine)


def test_a_decision_comment_with_a_card_number_is_refused(team: Team, engine: Engine) -> None:
    pr_id = submitted(team.requester, [team.step("M", "anyof", team.bob)])

    response = decide(team.bob, pr_id, "approve", SPELLINGS["fullwidth digits"])

    refused(response, "comment")
    assert team.bob.browser.get(f"/api/v1/prs/{pr_id}").body["status"] == "pending"


def test_an_invoice_line_with_a_card_number_is_refused(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    clerk = signed_in("ivy@example.com", ("invoice.read", "invoice.write"))
    line = {"description": f"Card {SPELLINGS['slashes']}", "quantity": "1", "unitPrice": "10.00", "amount": "10.00"}

    response = clerk.post("/api/v1/invoices", json_body={"currency": "EUR", "services": [line]})

    refused(response, "services[0].description")
    assert rows(engine, invoices) == 0


def test_an_approval_flow_name_with_a_card_number_is_refused(team: Team, engine: Engine) -> None:
    steps = [team.step(f"Card {SPELLINGS['double spaces']}", "anyof", team.bob)]

    response = team.clerk.browser.post("/api/v1/approval-flows", json_body={"name": "Standard", "steps": steps})

    refused(response, "steps[0].name")
    assert rows(engine, approval_flow_templates) == 0


def test_a_user_name_with_a_card_number_is_refused(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    admin = signed_in("ada@example.com", ("users.admin",))
    me = admin.get("/api/v1/me").body

    response = admin.patch(f"/api/v1/users/{me['id']}", json_body={"displayName": SPELLINGS["no-break spaces"]})

    refused(response, "displayName")
    never_in_the_audit_log(engine, SPELLINGS["no-break spaces"])


def test_a_name_from_an_identity_providers_claims_is_stored_without_a_card_number(engine: Engine) -> None:
    # Given a Google account whose display name holds a card number (no request body to refuse it)
    from datetime import UTC, datetime

    from payreq.auth.users import create_user
    from payreq.card_numbers import MASK
    from payreq.db.schema import users

    # When the user is created from the claims
    with engine.begin() as connection:
        create_user(
            connection,
            email="gus@example.com",
            display_name="Gus 4111 1111 1111 1111",
            permissions=(),
            now=datetime.now(UTC),
        )

    # Then the name is kept, the card number is not
    with engine.connect() as connection:
        assert connection.scalar(select(users.c.display_name)) == f"Gus {MASK}"
