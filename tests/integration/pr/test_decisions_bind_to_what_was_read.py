"""What was approved is what gets paid: a decision binds to the version the approver read, invoice
links belong to the requester and are material, flows must be completable, and requesters do not
choose their own approvers unless the operator allows it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select, update

from integration.conftest import TEST_LOGIN_TOKEN
from payreq.db.schema import approvals, audit_events, payment_requests, users
from support.team import Team, decide, raise_request, submitted

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


def read(member_browser: ApiClient, pr_id: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    response = member_browser.get(f"/api/v1/prs/{pr_id}")
    return response.headers["etag"], response.body


def decisions_in_database(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(approvals)) or 0)


def an_invoice(team: Team, total: str = "1250.00") -> str:
    # Invoices are entered by people with invoice.write; the requester team's clerk has none, so the
    # invoice is written straight through the invoice function as its own user.
    from support.api_client import ApiClient

    browser = ApiClient()
    login = {"token": TEST_LOGIN_TOKEN, "email": "ivy@example.com", "permissions": ["invoice.write"]}
    assert browser.post("/auth/test-login", json_body=login).status == 200
    body = {"number": f"INV-{uuid.uuid4().hex[:8]}", "vendor": "ACME GmbH", "currency": "EUR", "total": total}
    created = browser.post("/api/v1/invoices", json_body=body)
    assert created.status == 201, created.body
    return str(created.body["id"])


# --- 1. a decision binds to what the approver read -------------------------------------------------


def test_an_approval_sent_after_a_material_edit_is_refused(team: Team, engine: Engine) -> None:
    # Given bob reads a pending request at 1,250.00 EUR to ACME
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.bob)])
    seen, _ = read(team.bob.browser, pr_id)
    # ... and the requester then changes amount and payee
    current, _ = read(team.requester.browser, pr_id)
    edited = team.requester.browser.patch(
        f"/api/v1/prs/{pr_id}", json_body={"amount": "99999.00", "payee": "Mallory Ltd"}, headers={"If-Match": current}
    )
    assert edited.status == 200, edited.body

    # When bob approves what he read
    response = decide(team.bob, pr_id, "approve", if_match=seen)

    # Then nothing is recorded and the request is not approved
    assert (response.status, response.error_code) == (412, "precondition_failed")
    assert f"changed at version {edited.body['materialVersion']}" in response.body["error"]["details"][0]["message"]
    assert decisions_in_database(engine) == 0
    assert read(team.requester.browser, pr_id)[1]["status"] == "pending"


@pytest.mark.parametrize("action", ["approve", "reject", "unapprove"])
def test_a_decision_without_if_match_is_refused(team: Team, engine: Engine, action: str) -> None:
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.bob)])

    response = team.bob.browser.post(f"/api/v1/prs/{pr_id}/{action}", json_body={})

    assert (response.status, response.error_code) == (428, "precondition_required")
    assert decisions_in_database(engine) == 0


def test_a_rejection_sent_after_a_material_edit_is_refused(team: Team) -> None:
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.bob)])
    seen, _ = read(team.bob.browser, pr_id)
    current, _ = read(team.requester.browser, pr_id)
    team.requester.browser.patch(f"/api/v1/prs/{pr_id}", json_body={"amount": "10.00"}, headers={"If-Match": current})

    response = decide(team.bob, pr_id, "reject", if_match=seen)

    assert response.status == 412
    assert read(team.requester.browser, pr_id)[1]["status"] == "pending"


def test_a_version_never_served_is_refused(team: Team) -> None:
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.bob)])

    response = decide(team.bob, pr_id, "approve", if_match='"999"')

    assert response.status == 412


def test_other_approvers_decisions_in_between_do_not_make_a_read_stale(team: Team) -> None:
    # Given alice and bob both read the request of an all-of step at the same version
    pr_id = submitted(team.requester, [team.step("Both", "allof", team.alice, team.bob)])
    seen, _ = read(team.bob.browser, pr_id)
    assert decide(team.alice, pr_id, "approve", if_match=seen).status == 200

    # When bob approves on that same version after alice's approval moved the version on
    response = decide(team.bob, pr_id, "approve", if_match=seen)

    # Then his approval counts: nothing material changed
    assert response.status == 200, response.body
    assert response.body["status"] == "approved"


def test_each_decision_shows_the_terms_it_was_made_on(team: Team) -> None:
    # Given bob approved the first step of a two-step request
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.bob), team.step("CFO", "anyof", team.carol)])
    approved = decide(team.bob, pr_id, "approve")
    terms = approved.body["materialHash"]

    # Then his approval carries the fingerprint of the terms he saw, which is the request's now
    assert approved.body["steps"][0]["approvals"][0]["materialHash"] == terms
    assert len(bytes.fromhex(terms)) == 32

    # When the payee changes, the request's fingerprint changes (and his approval is void)
    current, _ = read(team.requester.browser, pr_id)
    edited = team.requester.browser.patch(
        f"/api/v1/prs/{pr_id}", json_body={"payee": "Someone Else"}, headers={"If-Match": current}
    )
    assert edited.body["materialHash"] != terms
    assert edited.body["steps"][0]["approvals"] == []


def test_the_last_editor_may_not_approve(team: Team, signed_in: Callable[..., ApiClient]) -> None:
    # Given a manager who may approve links an invoice to the requester's draft, becoming its last editor
    manager_browser = signed_in("max@example.com", ("pr.read", "pr.write", "pr.manage", "pr.approve"))
    manager_id = manager_browser.get("/api/v1/me").body["id"]
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.alice)]).body["id"]
    flow = [{"name": "Manager", "mode": "anyof", "approvers": [manager_id, team.alice.id]}]
    current, _ = read(team.requester.browser, pr_id)
    team.requester.browser.patch(
        f"/api/v1/prs/{pr_id}", json_body={"approvalFlow": flow}, headers={"If-Match": current}
    )
    linked = manager_browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": an_invoice(team)})
    assert (linked.status, linked.body["lastEditorId"]) == (200, manager_id), linked.body
    assert team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200

    # When the manager approves it
    etag, _ = read(manager_browser, pr_id)
    response = manager_browser.post(f"/api/v1/prs/{pr_id}/approve", json_body={}, headers={"If-Match": etag})

    # Then maker-checker refuses: whoever last changed what is to be paid is a maker too
    assert (response.status, response.error_code) == (403, "maker_checker")
    assert decide(team.alice, pr_id, "approve").status == 200


# --- 2. invoice links ---------------------------------------------------------------------------


def test_someone_else_may_not_link_or_unlink_invoices(team: Team, engine: Engine) -> None:
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.bob)]).body["id"]
    invoice_id = an_invoice(team)

    by_clerk = team.clerk.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice_id})
    assert (
        team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice_id}).status == 200
    )
    unlink_by_clerk = team.clerk.browser.delete(f"/api/v1/prs/{pr_id}/invoices/{invoice_id}")

    assert (by_clerk.status, by_clerk.error_code) == (403, "not_requester")
    assert (unlink_by_clerk.status, unlink_by_clerk.error_code) == (403, "not_requester")
    assert read(team.requester.browser, pr_id)[1]["invoiceCount"] == 1


def test_a_holder_of_pr_manage_may_link_for_the_requester(team: Team, signed_in: Callable[..., ApiClient]) -> None:
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.bob)]).body["id"]
    invoice_id = an_invoice(team)
    manager = signed_in("max@example.com", ("pr.read", "pr.write", "pr.manage"))

    response = manager.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice_id})

    assert response.status == 200, response.body
    assert response.body["invoiceCount"] == 1


def test_linking_on_a_pending_request_voids_its_approvals(team: Team) -> None:
    # Given bob approved step one of a pending two-step request
    pr_id = submitted(team.requester, [team.step("Manager", "anyof", team.bob), team.step("CFO", "anyof", team.carol)])
    seen, _ = read(team.carol.browser, pr_id)
    decide(team.bob, pr_id, "approve")

    # When the requester links an invoice
    linked = team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": an_invoice(team)})

    # Then approval starts over at step 0, and a decision on the earlier read is stale
    assert linked.status == 200, linked.body
    assert (linked.body["status"], linked.body["currentStep"]) == ("pending", 0)
    assert all(step["approvals"] == [] for step in linked.body["steps"])
    assert decide(team.carol, pr_id, "approve", if_match=seen).status == 412


def test_an_approved_request_takes_no_invoice_link_changes(team: Team) -> None:
    invoice_id = an_invoice(team)
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.bob)]).body["id"]
    team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice_id})
    team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit")
    decide(team.bob, pr_id, "approve")
    before = read(team.requester.browser, pr_id)[1]

    link = team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": an_invoice(team)})
    unlink = team.requester.browser.delete(f"/api/v1/prs/{pr_id}/invoices/{invoice_id}")

    assert (link.status, link.error_code) == (409, "invalid_transition")
    assert (unlink.status, unlink.error_code) == (409, "invalid_transition")
    after = read(team.requester.browser, pr_id)[1]
    assert (after["status"], after["invoicesTotal"], after["materialHash"]) == (
        "approved",
        before["invoicesTotal"],
        before["materialHash"],
    )


# --- 6. flows nobody can complete ---------------------------------------------------------------


def test_a_request_whose_only_approver_is_its_requester_is_refused(team: Team) -> None:
    response = raise_request(team.clerk, [team.step("Self", "anyof", team.clerk)])

    assert (response.status, response.error_code) == (422, "step_cannot_complete")
    assert "Self" in response.body["error"]["message"]


def test_a_flow_whose_approver_left_is_refused_at_submit(team: Team, engine: Engine) -> None:
    # Given a draft whose only approver is then deactivated
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.bob)]).body["id"]
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.email == "bob@example.com").values(is_active=False))

    response = team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit")

    assert (response.status, response.error_code) == (422, "step_cannot_complete")
    assert read(team.requester.browser, pr_id)[1]["status"] == "draft"


# --- 7. who may give a request its own flow -----------------------------------------------------


def test_by_default_requesters_choose_a_template_not_their_approvers(
    team: Team, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYREQ_INLINE_FLOWS", "managers")

    response = raise_request(team.requester, [team.step("Friend", "anyof", team.bob)])

    assert (response.status, response.error_code) == (403, "inline_flow_forbidden")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(payment_requests)) == 0
        denials = select(func.count()).where(audit_events.c.action == "access_denied")
        assert connection.scalar(denials) == 1


def test_a_flows_manager_may_write_a_flow_and_requesters_use_templates(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYREQ_INLINE_FLOWS", "managers")
    # The clerk holds flows.manage
    inline = raise_request(team.clerk, [team.step("Manager", "anyof", team.bob)])
    template = team.clerk.browser.post(
        "/api/v1/approval-flows",
        json_body={"name": "Standard", "steps": [team.step("Manager", "anyof", team.bob)]},
    )
    assert template.status == 201, template.body

    from_template = raise_request(team.requester, approvalFlowTemplateId=template.body["id"])
    edit_flow = team.requester.browser.patch(
        f"/api/v1/prs/{from_template.body['id']}",
        json_body={"approvalFlow": [team.step("Friend", "anyof", team.carol)]},
        headers={"If-Match": from_template.headers["etag"]},
    )

    assert inline.status == 201, inline.body
    assert from_template.status == 201, from_template.body
    assert (edit_flow.status, edit_flow.error_code) == (403, "inline_flow_forbidden")


def test_a_linked_invoices_amounts_are_frozen_while_its_request_is_under_approval(
    team: Team, signed_in: Callable[..., ApiClient]
) -> None:
    # Given an invoice of 1,250.00 linked to a pending request
    invoice_id = an_invoice(team)
    clerk = signed_in("ian@example.com", ("invoice.read", "invoice.write"))
    pr_id = raise_request(team.requester, [team.step("Manager", "anyof", team.bob)]).body["id"]
    team.requester.browser.post(f"/api/v1/prs/{pr_id}/invoices", json_body={"invoiceId": invoice_id})
    team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit")
    before = read(team.bob.browser, pr_id)[1]

    # When the clerk raises its total, and then only corrects its vendor
    etag = clerk.get(f"/api/v1/invoices/{invoice_id}").headers["etag"]
    raised = clerk.patch(f"/api/v1/invoices/{invoice_id}", json_body={"total": "9999.00"}, headers={"If-Match": etag})
    renamed = clerk.patch(
        f"/api/v1/invoices/{invoice_id}", json_body={"vendor": "ACME Hardware GmbH"}, headers={"If-Match": etag}
    )

    # Then the amount change is refused (the request's approvers approve it), the rest is not
    assert (raised.status, raised.error_code) == (409, "linked_to_request")
    assert renamed.status == 200, renamed.body
    after = read(team.bob.browser, pr_id)[1]
    assert (after["invoicesTotal"], after["materialHash"]) == (before["invoicesTotal"], before["materialHash"])


def test_code_from_before_the_material_columns_can_still_create_a_request(team: Team, engine: Engine) -> None:
    # Given a rollback to a release that knows nothing of material_version and material_hash
    from sqlalchemy import text

    # When it inserts a request as it always did
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO payment_requests"
                " (id, number, title, payee, amount, currency, requester_id, last_editor_id)"
                " VALUES (:id, 'PR-OLD-1', 'Old code', 'ACME', 10, 'EUR', :user, :user)"
            ),
            {"id": uuid.uuid4(), "user": team.requester.id},
        )

    # Then it is stored, counting as materially changed at its first version
    with engine.connect() as connection:
        assert connection.execute(select(payment_requests.c.material_version)).scalar_one() == 1
