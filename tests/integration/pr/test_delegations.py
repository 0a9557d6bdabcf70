"""Approval delegations: who may give, see and revoke one, and what a delegate may decide with it.

alice delegates to bob throughout: bob then decides alice's steps on her behalf."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.engine import engine_from_url
from payreq.db.schema import approvals, audit_events, outbox
from payreq.errors import PayreqError
from pr_api import flows
from support.team import Member, Team, decide, raise_request, submitted

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient, ApiResponse


def delegate(by: Member, to: Member, **fields: Any) -> ApiResponse:
    """`by` hands their approval rights to `to` from now for a week, unless `fields` say otherwise."""
    body = {"delegateId": to.id, "endsAt": _at(days=7), **fields}
    return by.browser.post("/api/v1/delegations", json_body=body)


def delegated(by: Member, to: Member, **fields: Any) -> str:
    made = delegate(by, to, **fields)
    assert made.status == 201, made.body
    return str(made.body["id"])


def decide_for(member: Member, pr_id: str, action: str, on_behalf_of: Member | None) -> ApiResponse:
    """`member` approves or rejects on the version they just read, naming whom they act for."""
    etag = member.browser.get(f"/api/v1/prs/{pr_id}").headers["etag"]
    body = {} if on_behalf_of is None else {"onBehalfOf": on_behalf_of.id}
    return member.browser.post(f"/api/v1/prs/{pr_id}/{action}", json_body=body, headers={"If-Match": etag})


def _at(**offset: float) -> str:
    return (datetime.now(UTC) + timedelta(**offset)).isoformat()


def alices_request(team: Team, *, amount: str = "1250.00", **fields: Any) -> str:
    """A pending request whose first step only alice approves, and carol the second."""
    return submitted(
        team.requester,
        [team.step("Manager", "anyof", team.alice), team.step("Finance", "anyof", team.carol)],
        amount=amount,
        **fields,
    )


# --- giving, seeing, revoking -------------------------------------------------------------------


def test_an_approver_delegates_and_both_people_see_it(team: Team, engine: Engine) -> None:
    # When alice delegates to bob for a week, only up to 5000 EUR
    made = delegate(team.alice, team.bob, amountLimit="5000", limitCurrency="eur", reason="On leave")

    # Then it is active, names both people, and is audited and broadcast
    body = made.body
    assert made.status == 201, body
    assert made.headers["location"] == f"/api/v1/delegations/{body['id']}"
    assert (body["delegator"]["id"], body["delegate"]["id"], body["status"]) == (team.alice.id, team.bob.id, "active")
    assert (body["amountLimit"], body["limitCurrency"], body["flowTemplateIds"]) == ("5000.00", "EUR", None)
    assert body["delegator"]["displayName"]
    with engine.connect() as connection:
        audited = connection.scalar(select(audit_events.c.action).where(audit_events.c.entity_id == body["id"]))
        topics = connection.scalar(select(outbox.c.topics).where(outbox.c.entity_id == body["id"]))
    assert audited == "delegation.created"
    assert topics == ["delegations", f"delegation:{body['id']}"]
    # And the delegator and the delegate see it; another approver does not
    assert [d["id"] for d in team.alice.browser.get("/api/v1/delegations").body["items"]] == [body["id"]]
    assert [d["id"] for d in team.bob.browser.get("/api/v1/delegations").body["items"]] == [body["id"]]
    assert team.carol.browser.get("/api/v1/delegations").body["items"] == []
    assert team.carol.browser.get(f"/api/v1/delegations/{body['id']}").status == 404


def test_an_administrator_sees_every_delegation_newest_first_page_by_page(
    team: Team, signed_in: Callable[..., ApiClient]
) -> None:
    first = delegated(team.alice, team.bob)
    second = delegated(team.carol, team.alice)
    admin = signed_in("ada@example.com", ("pr.read", "users.admin"))

    page = admin.get("/api/v1/delegations", query={"limit": "1"}).body
    rest = admin.get("/api/v1/delegations", query={"limit": "1", "cursor": page["nextCursor"]}).body

    assert [d["id"] for d in page["items"] + rest["items"]] == [second, first]
    assert rest["nextCursor"] is None


def test_only_the_delegator_or_an_administrator_revokes(team: Team, signed_in: Callable[..., ApiClient]) -> None:
    delegation_id = delegated(team.alice, team.bob)
    admin = signed_in("ada@example.com", ("pr.read", "pr.approve", "users.admin"))

    by_delegate = team.bob.browser.post(f"/api/v1/delegations/{delegation_id}/revoke")
    by_stranger = team.carol.browser.post(f"/api/v1/delegations/{delegation_id}/revoke")
    by_delegator = team.alice.browser.post(f"/api/v1/delegations/{delegation_id}/revoke")
    again = admin.post(f"/api/v1/delegations/{delegation_id}/revoke")

    assert (by_delegate.status, by_delegate.error_code) == (403, "not_delegator")
    assert by_stranger.status == 404
    assert (by_delegator.status, by_delegator.body["status"]) == (200, "revoked")
    assert by_delegator.body["revokedBy"] == team.alice.id
    # Revoking again changes nothing
    assert (again.status, again.body["version"], again.body["revokedBy"]) == (200, 2, team.alice.id)


def test_only_approvers_delegate(team: Team) -> None:
    refused = delegate(team.requester, team.bob)

    assert (refused.status, refused.error_code) == (403, "forbidden")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"delegateId": "00000000-0000-4000-8000-000000000000"}, "delegateId"),  # nobody
        ({"endsAt": _at(days=-1), "startsAt": _at(days=-2)}, "endsAt"),  # over already
        ({"endsAt": _at(days=400)}, "endsAt"),  # too long
        ({"startsAt": _at(days=3), "endsAt": _at(days=2)}, "endsAt"),  # ends before it starts
        ({"amountLimit": "100"}, "amountLimit"),  # a limit without its currency
        ({"flowTemplateIds": ["00000000-0000-4000-8000-000000000000"]}, "flowTemplateIds"),
    ],
)
def test_a_delegation_that_cannot_be_is_a_422_naming_the_field(team: Team, fields: dict[str, Any], field: str) -> None:
    refused = delegate(team.alice, team.bob, **fields)

    assert refused.status == 422, refused.body
    assert set(refused.body["error"]) >= {"code", "message", "details", "timestamp", "requestId"}
    assert field in [d["field"] for d in refused.body["error"]["details"]]


def test_the_delegate_must_be_someone_else_who_may_approve(team: Team) -> None:
    to_a_requester = delegate(team.alice, team.requester)
    to_oneself = delegate(team.alice, team.alice)

    for refused in (to_a_requester, to_oneself):
        assert refused.status == 422, refused.body
        assert [(d["field"], d["code"]) for d in refused.body["error"]["details"]] == [
            ("delegateId", "invalid_delegate")
        ]


# --- deciding on behalf -------------------------------------------------------------------------


def test_a_delegate_approves_on_behalf_of_the_delegator(team: Team, engine: Engine) -> None:
    # Given bob holds alice's rights, and a request whose first step only alice approves
    delegated(team.alice, team.bob)
    pr_id = alices_request(team)

    # When bob approves it on her behalf
    approved = decide_for(team.bob, pr_id, "approve", team.alice)

    # Then the step completes as alice's approval would, recorded as by bob on behalf of alice
    assert approved.status == 200, approved.body
    assert (approved.body["status"], approved.body["currentStep"]) == ("pending", 1)
    [approval] = approved.body["steps"][0]["approvals"]
    assert approval["approverId"] == team.bob.id
    assert approval["onBehalfOf"]["id"] == team.alice.id
    assert approval["onBehalfOf"]["displayName"]
    # And the audit event says so
    with engine.connect() as connection:
        after = connection.scalar(
            select(audit_events.c.after).where(
                audit_events.c.action == "pr.approval_given", audit_events.c.entity_id == pr_id
            )
        )
    assert after is not None and after["onBehalfOf"] == team.alice.id


def test_a_request_decided_for_the_delegator_no_longer_awaits_her(team: Team) -> None:
    delegated(team.alice, team.bob)
    pr_id = submitted(team.requester, [team.step("Everyone", "allof", team.alice, team.carol)])
    awaiting = {"awaiting": "me"}
    before = [pr["id"] for pr in team.alice.browser.get("/api/v1/prs", query=awaiting).body["items"]]

    decide_for(team.bob, pr_id, "approve", team.alice)

    after = [pr["id"] for pr in team.alice.browser.get("/api/v1/prs", query=awaiting).body["items"]]
    assert (before, after) == ([pr_id], [])


def awaiting_me(member: Member) -> list[str]:
    return [pr["id"] for pr in member.browser.get("/api/v1/prs", query={"awaiting": "me"}).body["items"]]


def test_a_request_the_delegate_may_decide_for_the_delegator_awaits_the_delegate(team: Team) -> None:
    # Given bob holds alice's rights, and a request whose first step only alice approves
    delegated(team.alice, team.bob)
    pr_id = alices_request(team)

    # When bob looks for what awaits him, then decides it for her
    before = awaiting_me(team.bob)
    decide_for(team.bob, pr_id, "approve", team.alice)

    # Then it was there, and is gone once decided (it now awaits carol's step)
    assert (before, awaiting_me(team.bob)) == ([pr_id], [])


@pytest.mark.parametrize(
    "fields",
    [
        {"startsAt": _at(days=1), "endsAt": _at(days=3)},  # not yet
        {"amountLimit": "1000", "limitCurrency": "EUR"},  # the request is over the limit
        {"amountLimit": "5000", "limitCurrency": "USD"},  # the limit is in another currency
    ],
)
def test_a_request_the_delegation_does_not_cover_does_not_await_the_delegate(
    team: Team, fields: dict[str, Any]
) -> None:
    delegated(team.alice, team.bob, **fields)
    alices_request(team)

    assert awaiting_me(team.bob) == []


def test_a_step_the_delegator_decided_herself_no_longer_awaits_the_delegate(team: Team) -> None:
    delegated(team.alice, team.bob)
    pr_id = submitted(team.requester, [team.step("Everyone", "allof", team.alice, team.carol)])
    assert awaiting_me(team.bob) == [pr_id]

    decide_for(team.alice, pr_id, "approve", None)

    assert awaiting_me(team.bob) == []


def test_a_delegate_who_is_no_approver_of_the_step_acts_for_the_one_delegation_that_applies(team: Team) -> None:
    delegated(team.alice, team.bob)
    pr_id = alices_request(team)

    rejected = decide_for(team.bob, pr_id, "reject", None)

    assert rejected.body["status"] == "rejected"
    assert rejected.body["steps"][0]["approvals"][0]["onBehalfOf"]["id"] == team.alice.id


def test_acting_for_two_approvers_of_the_step_needs_to_name_one(team: Team) -> None:
    delegated(team.alice, team.bob)
    delegated(team.carol, team.bob)
    pr_id = submitted(team.requester, [team.step("Managers", "anyof", team.alice, team.carol)])

    unnamed = decide_for(team.bob, pr_id, "approve", None)
    named = decide_for(team.bob, pr_id, "approve", team.carol)

    assert (unnamed.status, unnamed.error_code) == (422, "delegation_ambiguous")
    assert named.body["steps"][0]["approvals"][0]["onBehalfOf"]["id"] == team.carol.id


@pytest.mark.parametrize(
    "fields",
    [
        {"startsAt": _at(days=1), "endsAt": _at(days=3)},  # not yet
        {"amountLimit": "1000", "limitCurrency": "EUR"},  # the request is over the limit
        {"amountLimit": "5000", "limitCurrency": "USD"},  # the limit is in another currency
    ],
)
def test_a_delegation_that_does_not_cover_the_request_is_a_403(team: Team, fields: dict[str, Any]) -> None:
    delegated(team.alice, team.bob, **fields)
    pr_id = alices_request(team)

    refused = decide_for(team.bob, pr_id, "approve", team.alice)

    assert (refused.status, refused.error_code) == (403, "not_delegated")


def test_a_delegation_for_other_flows_does_not_cover_a_request_of_its_own_flow(team: Team) -> None:
    # Given alice delegates only for the requests of the Marketing template
    template = {"name": "Marketing", "steps": [team.step("Manager", "anyof", team.alice)]}
    delegated(
        team.alice,
        team.bob,
        flowTemplateIds=[team.clerk.browser.post("/api/v1/approval-flows", json_body=template).body["id"]],
    )
    pr_id = alices_request(team)  # its own flow, from no template

    refused = decide_for(team.bob, pr_id, "approve", team.alice)

    assert (refused.status, refused.error_code) == (403, "not_delegated")


def test_a_revoked_delegation_no_longer_lets_the_delegate_decide_but_keeps_decisions_made(team: Team) -> None:
    delegation_id = delegated(team.alice, team.bob)
    earlier = alices_request(team)
    decide_for(team.bob, earlier, "approve", team.alice)
    later = alices_request(team)

    team.alice.browser.post(f"/api/v1/delegations/{delegation_id}/revoke")
    refused = decide_for(team.bob, later, "approve", team.alice)

    assert (refused.status, refused.error_code) == (403, "not_delegated")
    kept = team.bob.browser.get(f"/api/v1/prs/{earlier}").body["steps"][0]["approvals"]
    assert [a["onBehalfOf"]["id"] for a in kept] == [team.alice.id]


def test_a_delegate_for_a_template_decides_its_requests(team: Team) -> None:
    template = {"name": "Hardware", "steps": [team.step("Manager", "anyof", team.alice)]}
    template_id = team.clerk.browser.post("/api/v1/approval-flows", json_body=template).body["id"]
    delegated(team.alice, team.bob, flowTemplateIds=[template_id], amountLimit="1250", limitCurrency="EUR")
    pr_id = submitted(team.requester, None, approvalFlowTemplateId=template_id)  # type: ignore[arg-type]

    approved = decide_for(team.bob, pr_id, "approve", team.alice)

    assert approved.body["status"] == "approved", approved.body


def test_maker_checker_applies_to_the_delegate(team: Team) -> None:
    # Given the clerk (who may approve) holds alice's rights, and raised a request alice approves
    delegated(team.alice, team.clerk)
    pr_id = submitted(team.clerk, [team.step("Manager", "anyof", team.alice)])

    # When the clerk approves it on alice's behalf
    refused = decide_for(team.clerk, pr_id, "approve", team.alice)

    # Then maker-checker refuses: a delegation never lets the requester approve their own request
    assert (refused.status, refused.error_code) == (403, "maker_checker")


def test_maker_checker_applies_to_a_delegate_who_last_edited_the_request(
    team: Team, signed_in: Callable[..., ApiClient]
) -> None:
    # Given max (who may approve and manage requests) holds alice's rights, and linked an invoice
    # to a request alice approves, so is its last editor
    max_browser = signed_in("max@example.com", ("pr.read", "pr.write", "pr.manage", "pr.approve"))
    manager = Member(max_browser, max_browser.get("/api/v1/me").body["id"])
    delegated(team.alice, manager)
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.alice)]).body["id"]
    linked = max_browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": an_invoice(signed_in)})
    assert linked.body["lastEditorId"] == manager.id, linked.body
    assert team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200

    # When max approves it on alice's behalf
    refused = decide_for(manager, pr_id, "approve", team.alice)

    # Then maker-checker refuses, and alice may still approve it herself
    assert (refused.status, refused.error_code) == (403, "maker_checker")
    assert decide(team.alice, pr_id, "approve").body["status"] == "approved"


def test_maker_checker_applies_to_the_delegator_too(team: Team, signed_in: Callable[..., ApiClient]) -> None:
    # Given mia (an approver who manages requests) last edited a request that she or carol approves,
    # and has delegated to bob
    mia_browser = signed_in("mia@example.com", ("pr.read", "pr.write", "pr.manage", "pr.approve"))
    mia = Member(mia_browser, mia_browser.get("/api/v1/me").body["id"])
    delegated(mia, team.bob)
    pr_id = raise_request(team.requester, [team.step("Managers", "anyof", mia, team.carol)]).body["id"]
    linked = mia_browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": an_invoice(signed_in)})
    assert linked.body["lastEditorId"] == mia.id, linked.body
    assert team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200

    # When bob approves it on mia's behalf
    refused = decide_for(team.bob, pr_id, "approve", mia)

    # Then maker-checker refuses: her delegate cannot give the approval she may not
    assert (refused.status, refused.error_code) == (403, "maker_checker")
    unnamed = decide_for(team.bob, pr_id, "approve", None)  # the one delegation that applies: the same
    assert (unnamed.status, unnamed.error_code) == (403, "maker_checker")


def an_invoice(signed_in: Callable[..., ApiClient]) -> str:
    clerk = signed_in("ivy@example.com", ("invoice.write",))
    body = {"number": f"INV-{uuid.uuid4().hex[:8]}", "vendor": "ACME GmbH", "currency": "EUR", "total": "1250.00"}
    created = clerk.post("/api/v1/invoices", json_body=body)
    assert created.status == 201, created.body
    return str(created.body["id"])


def test_the_delegator_already_decided_is_a_409(team: Team) -> None:
    delegated(team.alice, team.bob)
    pr_id = submitted(team.requester, [team.step("Everyone", "allof", team.alice, team.carol)])
    decide(team.alice, pr_id, "approve")

    twice = decide_for(team.bob, pr_id, "approve", team.alice)

    assert (twice.status, twice.error_code) == (409, "already_decided")


def test_one_person_cannot_supply_two_approvals_of_an_allof_step(team: Team) -> None:
    # Given bob is an approver of an allof step, and holds alice's rights too
    delegated(team.alice, team.bob)
    pr_id = submitted(team.requester, [team.step("Everyone", "allof", team.alice, team.bob)])

    # When bob approves for himself, then again on alice's behalf (and the other way round)
    own = decide_for(team.bob, pr_id, "approve", None)
    for_alice = decide_for(team.bob, pr_id, "approve", team.alice)

    # Then the second is refused: the step still needs alice herself
    assert own.status == 200
    assert (for_alice.status, for_alice.error_code) == (409, "already_decided")
    assert decide(team.alice, pr_id, "approve").body["status"] == "approved"


def test_the_delegate_and_the_delegator_withdraw_an_approval_made_on_her_behalf(team: Team) -> None:
    delegated(team.alice, team.bob)
    first = alices_request(team)
    second = alices_request(team)
    decide_for(team.bob, first, "approve", team.alice)
    decide_for(team.bob, second, "approve", team.alice)

    by_delegate = decide(team.bob, first, "unapprove")
    by_delegator = decide(team.alice, second, "unapprove")

    for withdrawn in (by_delegate, by_delegator):
        assert withdrawn.status == 200, withdrawn.body
        assert (withdrawn.body["currentStep"], withdrawn.body["steps"][0]["approvals"]) == (0, [])


# --- races --------------------------------------------------------------------------------------


def test_the_delegator_and_the_delegate_approving_at_once_make_one_decision(
    team: Team, engine: Engine, database_url: str
) -> None:
    # Given an allof step of alice and carol, and bob holding alice's rights
    delegated(team.alice, team.bob)
    pr_id = submitted(team.requester, [team.step("Everyone", "allof", team.alice, team.carol)])
    version = int(team.alice.browser.get(f"/api/v1/prs/{pr_id}").headers["etag"].strip('"'))
    racing = engine_from_url(database_url, pool_size=2)
    start = Barrier(2)

    def approve(caller: str, on_behalf_of: str | None) -> str:
        context = RequestContext(request_id=f"race-{caller}", user_id=_uuid(caller))
        start.wait()
        try:
            with transaction(racing) as connection:
                flows.approve(
                    connection,
                    context,
                    _uuid(pr_id),
                    read_version=version,
                    comment=None,
                    now=datetime.now(UTC),
                    on_behalf_of=_uuid(on_behalf_of) if on_behalf_of else None,
                )
        except PayreqError as refused:
            return refused.code
        return "approved"

    # When alice and bob (for alice) approve at the same moment
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(approve, [team.alice.id, team.bob.id], [None, team.alice.id]))
    finally:
        racing.dispose()

    # Then exactly one decision for alice is recorded
    assert outcomes == ["already_decided", "approved"]
    with engine.connect() as connection:
        live = connection.scalar(
            select(func.count()).where(approvals.c.voided_at.is_(None), approvals.c.payment_request_id == pr_id)
        )
    assert live == 1


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def test_the_database_refuses_a_second_live_decision_for_the_same_approver(team: Team, engine: Engine) -> None:
    delegated(team.alice, team.bob)
    pr_id = submitted(team.requester, [team.step("Everyone", "allof", team.alice, team.carol)])
    decide(team.alice, pr_id, "approve")

    with engine.connect() as connection:
        mine = connection.execute(select(approvals)).mappings().one()
        # a second live decision for alice: bob's, on her behalf
        second = {
            **mine,
            "id": _uuid("00000000-0000-4000-8000-000000000001"),
            "approver_id": _uuid(team.bob.id),
            "on_behalf_of": mine["approver_id"],
        }
        with pytest.raises(IntegrityError, match="uq_approvals_live_effective_decision"):
            connection.execute(approvals.insert().values(**second))
