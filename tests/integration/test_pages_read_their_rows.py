"""A page of a list reads its own rows, not the whole table: newest first off an index, stopping at
the page's last row. So a page costs the same with a hundred rows as with a million (before the
newest-first indexes, a page of requests sorted the table and computed every request's invoice
totals first: 92 ms at 65,000 requests, and growing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from payreq.db import get_engine
from support.bulk import copy_rows
from support.team import Team, decide, submitted

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient

ROWS = 3_000  # enough that the planner would rather read an index than sort, if it has one
LIMIT = 20


@dataclass(frozen=True)
class Listing:
    path: str
    table: str
    unique: tuple[str, ...] = ()  # the text columns a copy of a row must not repeat


LISTINGS = [
    pytest.param(Listing("/api/v1/prs", "payment_requests", ("number",)), id="requests"),
    pytest.param(Listing("/api/v1/invoices", "invoices", ("reference",)), id="invoices"),
    pytest.param(Listing("/api/v1/payments", "payments"), id="payments"),
]


@dataclass(frozen=True)
class Sent:
    statement: str
    parameters: Any


@pytest.fixture
def sent(engine: Engine) -> Iterator[list[Sent]]:
    """Every statement the functions send while the test runs, with its parameters."""
    recorded: list[Sent] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        recorded.append(Sent(statement, parameters))

    event.listen(get_engine(), "before_cursor_execute", record)
    yield recorded
    event.remove(get_engine(), "before_cursor_execute", record)


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_page_reads_its_own_rows_not_the_table(
    listing: Listing, team: Team, signed_in: Callable[..., ApiClient], engine: Engine, sent: list[Sent]
) -> None:
    # Given thousands of rows: one of each made over the API, then copied in SQL, each a second older
    one_of_each(team, signed_in)
    with engine.begin() as connection:
        copy_rows(connection, listing.table, ROWS, unique=listing.unique)
    reader = signed_in("reader@example.com", ("pr.read", "invoice.read", "payment.read"))

    # When the newest page is listed, and then the page after it
    sent.clear()
    first = reader.get(listing.path, query={"limit": str(LIMIT)})
    first_page = page_statement(sent, listing.table)
    sent.clear()
    second = reader.get(listing.path, query={"limit": str(LIMIT), "cursor": first.body["nextCursor"]})
    second_page = page_statement(sent, listing.table)

    # Then each page is full, and reading it read no more of the table than the page and one row
    # (the one that tells there is a next page)
    assert (first.status, len(first.body["items"]), second.status, len(second.body["items"])) == (
        200,
        LIMIT,
        200,
        LIMIT,
    )
    assert rows_read(engine, first_page, listing.table) <= LIMIT + 1
    assert rows_read(engine, second_page, listing.table) <= LIMIT + 1


def one_of_each(team: Team, signed_in: Callable[..., ApiClient]) -> None:
    """An approved request paid in part, and an invoice, made as users make them."""
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.alice)], amount="100000.00")
    assert decide(team.alice, pr_id, "approve").body["status"] == "approved"
    paid = team.treasurer.browser.post(f"/api/v1/prs/{pr_id}/payments", json_body={"amount": "1.00", "currency": "EUR"})
    clerk = signed_in("ines@example.com", ("invoice.read", "invoice.write"))
    invoice = clerk.post("/api/v1/invoices", json_body={"vendor": "ACME GmbH", "currency": "EUR", "total": "10.00"})
    assert (paid.status, invoice.status) == (201, 201)


def page_statement(sent: list[Sent], table: str) -> Sent:
    """The statement that read the page: the one sent in the table's newest-first order."""
    order = f"ORDER BY {table}.created_at DESC, {table}.id DESC"
    (page,) = [s for s in sent if order in s.statement]
    return page


def rows_read(engine: Engine, page: Sent, table: str) -> float:
    """How many of the table's rows the page's statement read, as PostgreSQL counts them when it
    runs it (EXPLAIN ANALYZE): every scan of the table, times its loops."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {page.statement}", page.parameters)
        plan = cursor.fetchall()[0][0]
    finally:
        connection.close()
    found = plan if isinstance(plan, list) else json.loads(plan)
    scans = [node for node in _nodes(found[0]["Plan"]) if node.get("Relation Name") == table]
    return float(sum(node["Actual Rows"] * node["Actual Loops"] for node in scans))


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
