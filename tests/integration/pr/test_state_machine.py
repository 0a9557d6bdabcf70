"""Every action from every status: the allowed ones succeed, the rest are 409 and change nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select, update

from payreq.db.schema import audit_events, payment_requests
from support.team import Team, decide, raise_request

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiResponse

STATUSES = ("draft", "pending", "approved", "paid", "rejected", "cancelled")


def request_in(status: str, team: Team, engine: Engine) -> str:
    """A two-step request (alice, then bob) brought to `status` the way users would."""
    pr_id = str(
        raise_request(
            team.requester, [team.step("Manager", "anyof", team.alice), team.step("Finance", "anyof", team.bob)]
        ).body["id"]
    )
    if status == "draft":
        return pr_id
    if status == "cancelled":
        team.requester.browser.post(f"/api/v1/prs/{pr_id}/cancel")
        return pr_id
    team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit")
    if status == "rejected":
        decide(team.alice, pr_id, "reject", "no budget")
        return pr_id
    decide(team.alice, pr_id, "approve")  # pending, at step 1, alice's approval live
    if status in ("approved", "paid"):
        decide(team.bob, pr_id, "approve")
    if status == "paid":  # payments are another function's flow; the state is what matters here
        with engine.begin() as connection:
            connection.execute(update(payment_requests).values(status="paid"))
    return pr_id


# How each action is attempted, by whom it would be allowed
ACTIONS: dict[str, Callable[[Team, str], ApiResponse]] = {
    "edit": lambda team, pr: team.requester.browser.patch(
        f"/api/v1/prs/{pr}", json_body={"title": "New title"}, headers={"If-Match": _etag(team, pr)}
    ),
    "submit": lambda team, pr: team.requester.browser.post(f"/api/v1/prs/{pr}/submit"),
    "approve": lambda team, pr: decide(team.bob, pr, "approve"),
    "reject": lambda team, pr: decide(team.bob, pr, "reject", "not needed"),
    "unapprove": lambda team, pr: decide(team.alice, pr, "unapprove"),
    "cancel": lambda team, pr: team.requester.browser.post(f"/api/v1/prs/{pr}/cancel"),
}


def _etag(team: Team, pr_id: str) -> str:
    return str(team.requester.browser.get(f"/api/v1/prs/{pr_id}").headers["etag"])


# status -> action -> the status it leads to (absent: the transition is not allowed)
ALLOWED: dict[str, dict[str, str]] = {
    "draft": {"edit": "draft", "submit": "pending", "cancel": "cancelled"},
    "pending": {
        "edit": "pending",
        "approve": "approved",
        "reject": "rejected",
        "unapprove": "pending",
        "cancel": "cancelled",
    },
    "approved": {"edit": "approved", "unapprove": "pending", "cancel": "cancelled"},
    "paid": {},
    "rejected": {},
    "cancelled": {},
}
CASES = [(status, action) for status in STATUSES for action in ACTIONS]


def snapshot(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as connection:
        row = connection.execute(select(payment_requests.c.status, payment_requests.c.version)).one()
        return (*row, connection.scalar(select(func.count()).select_from(audit_events)))


@pytest.mark.parametrize(("status", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_transition(status: str, action: str, team: Team, engine: Engine) -> None:
    # Given a request in `status`
    pr_id = request_in(status, team, engine)
    before = snapshot(engine)

    # When someone entitled to `action` attempts it
    response = ACTIONS[action](team, pr_id)

    # Then it succeeds into the expected status, or is refused with 409 and nothing changes
    expected = ALLOWED[status].get(action)
    if expected is not None:
        assert response.status == 200, response.body
        assert response.body["status"] == expected
    else:
        assert (response.status, response.error_code) == (409, "invalid_transition"), response.body
        assert response.body["error"]["details"] == [
            {"field": "status", "message": f"{action} is not allowed from {status}", "code": "invalid_transition"}
        ]
        assert snapshot(engine) == before
