"""Step progression (anyof, allof, n of m), withdrawing approvals, material edits, maker-checker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from payreq.db.schema import approvals, payment_requests
from support.team import Team, decide, raise_request, submitted

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def state(team: Team, pr_id: str) -> tuple[str, int | None]:
    body = team.requester.browser.get(f"/api/v1/prs/{pr_id}").body
    return body["status"], body["currentStep"]


def test_anyof_then_allof(team: Team) -> None:
    pr_id = submitted(
        team.requester,
        [team.step("Manager", "anyof", team.alice, team.bob), team.step("Finance", "allof", team.bob, team.carol)],
    )

    decide(team.alice, pr_id, "approve")  # one of alice/bob completes the anyof step
    assert state(team, pr_id) == ("pending", 1)
    decide(team.bob, pr_id, "approve")  # allof: bob alone is not enough
    assert state(team, pr_id) == ("pending", 1)
    done = decide(team.carol, pr_id, "approve", "ok for Q4")

    assert (done.body["status"], done.body["currentStep"]) == ("approved", 1)
    assert [a["comment"] for a in done.body["steps"][1]["approvals"]] == [None, "ok for Q4"]


def test_two_of_three(team: Team) -> None:
    pr_id = submitted(team.requester, [team.step("Board", "anyof", team.alice, team.bob, team.carol, required=2)])

    decide(team.alice, pr_id, "approve")
    assert state(team, pr_id) == ("pending", 0)
    decide(team.carol, pr_id, "approve")
    assert state(team, pr_id)[0] == "approved"


def test_only_approvers_of_the_current_step_decide_and_only_once(team: Team) -> None:
    pr_id = submitted(
        team.requester,
        [team.step("Manager", "anyof", team.alice, team.bob, required=2), team.step("Finance", "anyof", team.carol)],
    )

    not_yet = decide(team.carol, pr_id, "approve")  # carol's step comes later
    decide(team.alice, pr_id, "approve")
    twice = decide(team.alice, pr_id, "approve")

    assert (not_yet.status, not_yet.error_code) == (403, "not_an_approver")
    assert (twice.status, twice.error_code) == (409, "already_decided")


def test_maker_checker_refuses_an_approver_who_raised_the_request(team: Team) -> None:
    pr_id = submitted(team.clerk, [team.step("Manager", "anyof", team.clerk, team.alice)])

    own = decide(team.clerk, pr_id, "approve")

    assert (own.status, own.error_code) == (403, "maker_checker")


def test_a_flow_that_only_its_maker_could_complete_is_refused_at_create(team: Team, engine: Engine) -> None:
    response = raise_request(team.clerk, [team.step("Self", "allof", team.clerk, team.alice)])

    assert (response.status, response.error_code) == (422, "step_cannot_complete")
    assert "'Self'" in response.body["error"]["details"][0]["message"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(payment_requests)) == 0


def test_withdrawing_an_approval_reopens_its_step_and_voids_later_ones(team: Team, engine: Engine) -> None:
    # Given a request approved through both steps
    pr_id = submitted(
        team.requester, [team.step("Manager", "anyof", team.alice), team.step("Finance", "anyof", team.bob)]
    )
    decide(team.alice, pr_id, "approve")
    decide(team.bob, pr_id, "approve")
    assert state(team, pr_id) == ("approved", 1)

    # When alice withdraws her step-0 approval
    response = decide(team.alice, pr_id, "unapprove")

    # Then the request is pending at step 0 again, and bob's later approval is void
    assert (response.body["status"], response.body["currentStep"]) == ("pending", 0)
    assert [step["approvals"] for step in response.body["steps"]] == [[], []]
    assert [step["completedAt"] for step in response.body["steps"]] == [None, None]
    with engine.connect() as connection:
        reasons = sorted(connection.scalars(select(approvals.c.void_reason)).all())
    assert reasons == ["earlier step reopened", "withdrawn"]
    # And approval resumes from there
    decide(team.alice, pr_id, "approve")
    decide(team.bob, pr_id, "approve")
    assert state(team, pr_id)[0] == "approved"


def test_withdrawing_from_an_incomplete_step_changes_nothing_else(team: Team) -> None:
    pr_id = submitted(team.requester, [team.step("Board", "allof", team.alice, team.bob)])
    decide(team.alice, pr_id, "approve")

    response = decide(team.alice, pr_id, "unapprove")
    nothing = decide(team.carol, pr_id, "unapprove")

    assert (response.body["status"], response.body["steps"][0]["approvals"]) == ("pending", [])
    assert (nothing.status, nothing.error_code) == (409, "nothing_to_withdraw")


def test_a_material_edit_voids_approvals_and_restarts_at_step_zero(team: Team, engine: Engine) -> None:
    pr_id = submitted(
        team.requester, [team.step("Manager", "anyof", team.alice), team.step("Finance", "anyof", team.bob)]
    )
    decide(team.alice, pr_id, "approve")
    decide(team.bob, pr_id, "approve")
    etag = team.requester.browser.get(f"/api/v1/prs/{pr_id}").headers["etag"]

    edited = team.requester.browser.patch(
        f"/api/v1/prs/{pr_id}", json_body={"amount": "1300.00"}, headers={"If-Match": etag}
    )

    assert edited.status == 200, edited.body
    assert (edited.body["status"], edited.body["currentStep"], edited.body["amount"]) == ("pending", 0, "1300.00")
    assert edited.body["approvalRound"] == 2
    assert all(step["approvals"] == [] for step in edited.body["steps"])
    with engine.connect() as connection:
        assert set(connection.scalars(select(approvals.c.void_reason))) == {"material change"}


def test_a_non_material_edit_keeps_approvals(team: Team) -> None:
    pr_id = submitted(
        team.requester, [team.step("Manager", "anyof", team.alice), team.step("Finance", "anyof", team.bob)]
    )
    decide(team.alice, pr_id, "approve")
    etag = team.requester.browser.get(f"/api/v1/prs/{pr_id}").headers["etag"]

    edited = team.requester.browser.patch(
        f"/api/v1/prs/{pr_id}", json_body={"description": "Typo fixed"}, headers={"If-Match": etag}
    )

    assert (edited.body["currentStep"], len(edited.body["steps"][0]["approvals"])) == (1, 1)


def test_an_edit_based_on_a_stale_version_is_412(team: Team) -> None:
    created = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body
    first = team.requester.browser.patch(
        f"/api/v1/prs/{created['id']}", json_body={"title": "One"}, headers={"If-Match": '"1"'}
    )

    stale = team.requester.browser.patch(
        f"/api/v1/prs/{created['id']}", json_body={"title": "Two"}, headers={"If-Match": '"1"'}
    )

    assert first.status == 200
    assert (stale.status, stale.body["error"]["details"][0]["message"]) == (412, 'the current version is "2"')


def test_only_the_requester_edits_submits_or_cancels(team: Team) -> None:
    created = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body

    response = team.clerk.browser.post(f"/api/v1/prs/{created['id']}/submit")

    assert (response.status, response.error_code) == (403, "not_requester")


def test_a_template_is_copied_at_creation_and_its_thresholds_apply_at_submit(team: Team) -> None:
    # Given a template whose second step applies from 10,000 only
    template = team.clerk.browser.post(
        "/api/v1/approval-flows",
        json_body={
            "name": "Standard",
            "steps": [
                team.step("Manager", "anyof", team.alice),
                team.step("CFO", "anyof", team.carol, threshold="10000.00"),
            ],
        },
    )
    assert template.status == 201, template.body
    small = raise_request(team.requester, approvalFlowTemplateId=template.body["id"], amount="500.00").body
    large = raise_request(team.requester, approvalFlowTemplateId=template.body["id"], amount="25000.00").body

    # When the template changes after the requests were made
    team.clerk.browser.patch(
        f"/api/v1/approval-flows/{template.body['id']}",
        headers={"If-Match": '"1"'},
        json_body={"steps": [team.step("Anyone", "anyof", team.bob)]},
    )
    small_steps = team.requester.browser.post(f"/api/v1/prs/{small['id']}/submit").body["steps"]
    large_steps = team.requester.browser.post(f"/api/v1/prs/{large['id']}/submit").body["steps"]

    # Then each request kept the flow it copied, with only the steps its amount calls for
    assert [step["name"] for step in small_steps] == ["Manager"]
    assert [step["name"] for step in large_steps] == ["Manager", "CFO"]
