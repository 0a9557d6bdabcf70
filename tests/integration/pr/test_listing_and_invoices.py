"""Listing requests (filters, pages, a constant number of queries) and linking invoices."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, insert, select, update

from payreq import settings
from payreq.db import get_engine
from payreq.db.engine import engine_from_url
from payreq.db.schema import approval_steps, approvals, invoices, payment_requests
from support.team import Team, decide, raise_request, submitted

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine


def add_invoice(engine: Engine, total: str, currency: str = "EUR") -> str:
    invoice_id = uuid.uuid4()
    with engine.begin() as connection:
        creator = connection.exec_driver_sql("SELECT id FROM users LIMIT 1").scalar_one()
        connection.execute(
            insert(invoices).values(
                id=invoice_id,
                reference=f"INV-{invoice_id.hex[:6]}",
                invoice_number="A-1",
                vendor="ACME",
                currency=currency,
                total=Decimal(total),
                created_by=creator,
            )
        )
    return str(invoice_id)


AUTHORIZER_LOOKUPS = ("FROM sessions JOIN users", "FROM api_tokens JOIN users")


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the function sends while the test runs: the authorizer's credential lookup,
    which every request pays alike (it shares the in-process engine here), left out."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not any(lookup in statement for lookup in AUTHORIZER_LOOKUPS):
            sent.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    yield sent
    event.remove(get_engine(), "before_cursor_execute", record)


def test_a_page_costs_the_same_queries_whatever_its_size(
    team: Team, engine: Engine, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 50 submitted requests, each with approvals and a linked invoice
    for n in range(50):
        pr_id = submitted(
            team.requester,
            [team.step("M", "anyof", team.alice), team.step("F", "anyof", team.bob)],
            amount=f"{100 + n}.00",
        )
        team.requester.browser.post(
            f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": add_invoice(engine, "10.00")}
        )
        decide(team.alice, pr_id, "approve")  # after the link, which is material and would void it

    # (The authorizer is another function in AWS: let it answer from its cache while we count.)
    monkeypatch.setenv("AUTH_CACHE_SECONDS", "60")
    settings.reset()
    team.alice.browser.get("/api/v1/prs", query={"limit": "1"})

    # When pages of 5 and of 50 are listed
    statements.clear()
    small = team.alice.browser.get("/api/v1/prs", query={"limit": "5"})
    small_cost = len(statements)
    statements.clear()
    full = team.alice.browser.get("/api/v1/prs", query={"limit": "50"})

    # Then both cost the same one query, and carry steps, approvals and invoice totals
    assert (len(small.body["items"]), len(full.body["items"])) == (5, 50)
    assert small_cost == len(statements) == 1
    first = full.body["items"][0]
    assert (first["invoicesTotal"], first["invoiceCount"], len(first["steps"])) == ("10.00", 1, 2)
    assert len(first["steps"][0]["approvals"]) == 1


def test_one_request_is_read_with_its_steps_approvals_and_invoices_in_one_query(
    team: Team, engine: Engine, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request with an approval given and two invoices linked
    pr_id = submitted(team.requester, [team.step("M", "anyof", team.alice), team.step("F", "anyof", team.bob)])
    for total in ("10.00", "32.50"):
        team.requester.browser.post(
            f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": add_invoice(engine, total)}
        )
    decide(team.alice, pr_id, "approve")  # after the links, which are material and would void it
    monkeypatch.setenv("AUTH_CACHE_SECONDS", "60")
    settings.reset()
    team.alice.browser.get(f"/api/v1/prs/{pr_id}")

    # When it is opened
    statements.clear()
    shown = team.alice.browser.get(f"/api/v1/prs/{pr_id}")

    # Then one query brought everything (one round trip), the invoices in the order they were linked
    assert len(statements) == 1
    assert [invoice["total"] for invoice in shown.body["invoices"]] == ["10.00", "32.50"]
    assert (shown.body["invoicesTotal"], shown.body["invoiceCount"]) == ("42.50", 2)
    assert shown.body["steps"][0]["approvals"][0]["approverId"] == team.alice.id


@pytest.mark.parametrize("where", ["its own page", "a list"])
def test_a_decision_committed_while_a_request_is_read_is_shown_whole_or_not_at_all(
    team: Team, database_url: str, where: str
) -> None:
    def read() -> dict[str, Any]:
        if where == "its own page":
            return dict(team.alice.browser.get(f"/api/v1/prs/{pr_id}").body)
        listed = team.alice.browser.get("/api/v1/prs", query={"limit": "100"}).body["items"]
        return dict(next(item for item in listed if item["id"] == pr_id))

    # Given a pending request, and a decision on its first step that commits the moment the read's
    # first statement has run (had the read a second statement, it would see the decision there)
    pr_id = submitted(team.requester, [team.step("M", "anyof", team.alice), team.step("F", "anyof", team.bob)])
    before = read()

    elsewhere = engine_from_url(database_url)  # another client: the function's pool is one connection

    decided: list[bool] = []

    def decide_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if decided or "FROM payment_requests" not in statement:
            return  # once, and after the read's statement (not the authorizer's credential lookup)
        decided.append(True)
        with elsewhere.begin() as connection:
            step = connection.execute(
                select(approval_steps.c.id)
                .where(approval_steps.c.payment_request_id == pr_id)
                .order_by(approval_steps.c.position)
                .limit(1)
            ).scalar_one()
            connection.execute(
                insert(approvals).values(
                    id=uuid.uuid4(),
                    payment_request_id=pr_id,
                    step_id=step,
                    approver_id=team.alice.id,
                    decision="approved",
                    material_hash=bytes.fromhex(before["materialHash"]),
                )
            )
            connection.execute(
                update(payment_requests)
                .where(payment_requests.c.id == pr_id)
                .values(version=payment_requests.c.version + 1)
            )

    event.listen(get_engine(), "after_cursor_execute", decide_meanwhile)

    # When the request is read as the decision lands
    during = read()
    event.remove(get_engine(), "after_cursor_execute", decide_meanwhile)
    after = read()
    elsewhere.dispose()

    # Then the read shows the request as it was when its statement ran, version and steps alike:
    # never the new approval on the old version (an approver would decide on an ETag that no longer
    # matches what they saw)
    assert (during["version"], during["steps"]) == (before["version"], before["steps"])
    assert during["steps"][0]["approvals"] == []
    # And the next read shows the decision with the version it made
    assert after["version"] == before["version"] + 1
    assert [approval["approverId"] for approval in after["steps"][0]["approvals"]] == [team.alice.id]


def test_filters(team: Team) -> None:
    cheap = submitted(team.requester, [team.step("M", "anyof", team.alice)], amount="50.00", title="Coffee beans")
    dear = submitted(team.requester, [team.step("M", "anyof", team.bob)], amount="5000.00", title="Espresso machine")
    draft = raise_request(team.requester, [team.step("M", "anyof", team.alice)], title="Cups").body["id"]

    def ids(**query: str) -> list[str]:
        return [item["id"] for item in team.alice.browser.get("/api/v1/prs", query=query).body["items"]]

    assert ids(status="pending") == [dear, cheap]
    assert ids(awaiting="me") == [cheap]  # alice decides only the coffee
    assert ids(q="espresso") == [dear]
    assert ids(q="100%_") == []  # wildcards in the search text are matched literally
    assert ids(amountMin="100", status="pending") == [dear]
    assert ids(amountMax="100", status="draft") == []
    assert ids(requester=team.requester.id, status="draft") == [draft]


def test_pages_follow_each_other_without_gaps_or_repeats(team: Team) -> None:
    made = [raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body["id"] for _ in range(7)]
    seen, cursor = [], None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = team.alice.browser.get("/api/v1/prs", query=query).body
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert seen == list(reversed(made))


def test_invoices_link_to_one_request_in_its_currency(team: Team, engine: Engine) -> None:
    pr_id = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body["id"]
    other = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body["id"]
    first, second, dollars = (
        add_invoice(engine, "300.00"),
        add_invoice(engine, "450.50"),
        add_invoice(engine, "1", "USD"),
    )
    link = team.requester.browser.post

    linked = [link(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": i}) for i in (first, second)][-1]
    elsewhere = link(f"/api/v1/prs/{other}/invoices", json_body={"invoiceId": first})
    wrong_currency = link(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": dollars})
    unlinked = team.requester.browser.delete(f"/api/v1/prs/{pr_id}/invoices/{first}")

    assert (linked.body["invoicesTotal"], [i["total"] for i in linked.body["invoices"]]) == (
        "750.50",
        ["300.00", "450.50"],
    )
    assert (elsewhere.status, elsewhere.error_code) == (409, "invoice_already_linked")
    assert (wrong_currency.status, wrong_currency.error_code) == (422, "currency_mismatch")
    assert (unlinked.status, unlinked.body["invoicesTotal"]) == (200, "450.50")
