"""Decisions on one request take turns in the database: none lost, none counted twice.

The flows are called from threads, each on its own connection, as 50 Lambda containers would.
(Handlers are not called from threads: Powertools keeps the current request in class attributes,
and Lambda never runs two requests at once in one process either.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.engine import engine_from_url
from payreq.db.schema import approvals, payment_requests
from payreq.errors import Conflict
from pr_api import flows
from pr_api.models import NewPaymentRequest
from support.factories import insert_user

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.engine import Engine

WAYS = 50


def request_needing(engine: Engine, approvers: list[uuid.UUID], requester: uuid.UUID) -> uuid.UUID:
    now = datetime.now(UTC)
    new = NewPaymentRequest.model_validate(
        {
            "title": "Servers",
            "payee": "ACME",
            "amount": "90000.00",
            "currency": "EUR",
            "approvalFlow": [{"name": "Everyone", "mode": "allof", "approvers": [str(a) for a in approvers]}],
        }
    )
    context = RequestContext(request_id="setup", user_id=requester)
    with transaction(engine) as connection:
        pr_id = flows.create(connection, context, new, now=now)
        flows.submit(connection, context, pr_id, now=now)
    return pr_id


def approve_all_at_once(url: str, pr_id: uuid.UUID, approvers: list[uuid.UUID]) -> list[str]:
    engine = engine_from_url(url, pool_size=WAYS)

    def approve(approver: uuid.UUID) -> str:
        context = RequestContext(request_id=f"req-{approver}", user_id=approver)
        try:
            with transaction(engine) as connection:
                flows.approve(connection, context, pr_id, read_version=2, comment=None, now=datetime.now(UTC))
        except Conflict as refused:
            return refused.code
        return "approved"

    try:
        with ThreadPoolExecutor(max_workers=WAYS) as pool:
            return list(pool.map(approve, approvers))
    finally:
        engine.dispose()


def test_fifty_approvers_at_once_are_all_counted(engine: Engine, database_url: str) -> None:
    # Given an allof step with 50 approvers
    with engine.begin() as connection:
        requester = insert_user(connection)
        approvers = [insert_user(connection) for _ in range(WAYS)]
    pr_id = request_needing(engine, approvers, requester)

    # When all 50 approve at the same moment
    outcomes = approve_all_at_once(database_url, pr_id, approvers)

    # Then every approval counted exactly once, and the request moved on
    assert outcomes == ["approved"] * WAYS
    with engine.connect() as connection:
        live = connection.scalar(select(func.count()).where(approvals.c.voided_at.is_(None)))
        status = connection.scalar(select(payment_requests.c.status))
    assert (live, status) == (WAYS, "approved")


def test_fifty_clicks_by_one_approver_count_once(engine: Engine, database_url: str) -> None:
    with engine.begin() as connection:
        requester = insert_user(connection)
        approvers = [insert_user(connection) for _ in range(3)]
    pr_id = request_needing(engine, approvers, requester)

    outcomes = approve_all_at_once(database_url, pr_id, [approvers[0]] * WAYS)

    assert sorted(set(outcomes)) == ["already_decided", "approved"]
    assert outcomes.count("approved") == 1
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(approvals)) == 1
