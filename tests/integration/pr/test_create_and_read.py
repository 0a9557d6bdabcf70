"""Raising a payment request: what is stored, what is answered, and what is refused."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from payreq.db.schema import audit_events, outbox
from support.team import Team, raise_request

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def test_a_draft_is_created_numbered_and_announced(team: Team, engine: Engine) -> None:
    # When the requester raises a request with a two-step flow
    response = raise_request(
        team.requester,
        [team.step("Manager", "anyof", team.alice, team.bob), team.step("Finance", "allof", team.carol)],
        dueDate="2026-12-31",
    )

    # Then it is a numbered draft, with its location and version
    body = response.body
    assert response.status == 201, body
    assert response.headers["location"] == f"/api/v1/prs/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert re.fullmatch(r"PR-\d{4}-000001", body["number"])
    assert (body["status"], body["amount"], body["currency"], body["dueDate"]) == (
        "draft",
        "1250.00",
        "EUR",
        "2026-12-31",
    )
    assert (body["steps"], body["invoicesTotal"], body["invoiceCount"]) == ([], "0.00", 0)
    # And the change is in the audit log and the outbox, in camelCase-free storage
    with engine.connect() as connection:
        audit = (
            connection.execute(
                select(audit_events).where(audit_events.c.category == "change").order_by(audit_events.c.id.desc())
            )
            .mappings()
            .first()
        )
        announced = connection.execute(select(outbox).where(outbox.c.entity == "pr")).mappings().one()
    assert audit is not None and (audit["action"], audit["after"]["amount"]) == ("pr.created", "1250.0000")
    assert (announced["op"], announced["entity_id"], announced["version"]) == ("created", body["id"], 1)


def test_a_request_reads_back_with_its_frozen_steps_once_submitted(team: Team) -> None:
    created = raise_request(team.requester, [team.step("Manager", "anyof", team.alice, team.bob)]).body
    team.requester.browser.post(f"/api/v1/prs/{created['id']}/submit")

    read = team.alice.browser.get(f"/api/v1/prs/{created['id']}")

    assert read.status == 200
    [step] = read.body["steps"]
    assert (step["name"], step["mode"], step["required"], step["approvals"]) == ("Manager", "anyof", 1, [])
    assert (read.body["status"], read.body["currentStep"], read.headers["etag"]) == ("pending", 0, '"2"')


def test_the_number_is_gapless_and_per_year(team: Team) -> None:
    numbers = [raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body["number"] for _ in range(3)]

    assert [number[-6:] for number in numbers] == ["000001", "000002", "000003"]


SOMEONE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "negative amount": ({"amount": "-5.00"}, "amount"),
    "amount as a JSON number": ({"amount": 12.5}, "amount"),
    "too many decimals for EUR": ({"amount": "10.001"}, "amount"),
    "decimals for JPY": ({"amount": "100.5", "currency": "JPY"}, "amount"),
    "unknown currency": ({"currency": "ABC"}, "currency"),
    "a metal is not a currency": ({"currency": "XAU"}, "currency"),
    "empty flow": ({"approvalFlow": []}, "approvalFlow"),
    "no flow at all": ({"approvalFlow": None}, "approvalFlow"),
    "a step's approver twice": (
        {"approvalFlow": [{"name": "M", "mode": "anyof", "approvers": [SOMEONE, SOMEONE]}]},
        "approvalFlow[0].approvers",
    ),
    "missing payee": ({"payee": ""}, "payee"),
    "unknown field": ({"ammount": "1.00"}, "ammount"),
}


@pytest.mark.parametrize(("override", "field"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_body_is_a_422_naming_the_field(team: Team, override: dict[str, Any], field: str) -> None:
    body = {
        "title": "T",
        "payee": "P",
        "amount": "10.00",
        "currency": "EUR",
        "approvalFlow": [team.step("M", "anyof", team.alice)],
        **override,
    }
    body = {key: value for key, value in body.items() if value is not None}

    response = team.requester.browser.post("/api/v1/prs", json_body=body)

    assert (response.status, response.error_code) == (422, "validation_error"), response.body
    assert field in {detail["field"] for detail in response.body["error"]["details"]}


def test_an_approver_who_does_not_exist_is_a_422(team: Team) -> None:
    ghost = str(uuid.uuid4())

    response = raise_request(team.requester, [{"name": "M", "mode": "anyof", "approvers": [team.alice.id, ghost]}])

    assert response.status == 422
    assert [ghost in detail["message"] for detail in response.body["error"]["details"]] == [True]


def test_a_request_that_does_not_exist_is_a_404(team: Team) -> None:
    response = team.alice.browser.get(f"/api/v1/prs/{uuid.uuid4()}")

    assert (response.status, response.error_code) == (404, "not_found")


def test_reading_needs_pr_read(team: Team, signed_in: Any) -> None:
    outsider = signed_in("outsider@example.com", ())
    created = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body

    assert outsider.get(f"/api/v1/prs/{created['id']}").status == 403


def test_text_in_any_script_reads_back_as_it_was_written(team: Team) -> None:
    # Given a request whose title and payee are not ASCII
    flow = [team.step("Manager", "anyof", team.alice)]
    created = raise_request(team.requester, flow, title="Übersetzung 翻訳 — 2 🖥", payee="Müller & Söhne, 東京")
    assert created.status == 201, created.body

    # When it is read back, alone and in the requester's list
    read = team.requester.browser.get(f"/api/v1/prs/{created.body['id']}")
    listed = team.requester.browser.get("/api/v1/prs")

    # Then both answers carry the text exactly as it was sent
    assert (read.body["title"], read.body["payee"]) == ("Übersetzung 翻訳 — 2 🖥", "Müller & Söhne, 東京")
    shown = next(item for item in listed.body["items"] if item["id"] == created.body["id"])
    assert (shown["title"], shown["payee"]) == (read.body["title"], read.body["payee"])
