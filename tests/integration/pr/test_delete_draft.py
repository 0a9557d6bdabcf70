"""A requester deletes a draft they no longer want: audited, broadcast, gone; nothing else is
deleted (a submitted request is cancelled, keeping its history)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from integration.pr.test_listing_and_invoices import add_invoice
from payreq.db.schema import audit_events, outbox, pr_invoice_links
from support.team import Team, raise_request

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def test_the_requester_deletes_a_draft_and_its_invoice_links(team: Team, engine: Engine) -> None:
    # Given a draft with an invoice linked to it
    draft = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body
    invoice = add_invoice(engine, "300.00")
    linked = team.requester.browser.post(f"/api/v1/prs/{draft['id']}/invoices", json_body={"invoiceId": invoice})
    assert linked.status == 200, linked.body

    # When the requester deletes it
    deleted = team.requester.browser.delete(f"/api/v1/prs/{draft['id']}")

    # Then it is gone, the invoice is free again, and the deletion is audited and broadcast
    assert (deleted.status, deleted.body) == (204, None)
    assert team.requester.browser.get(f"/api/v1/prs/{draft['id']}").status == 404
    with engine.connect() as connection:
        assert connection.scalars(select(pr_invoice_links.c.invoice_id)).all() == []
        audited = connection.execute(
            select(audit_events.c.actor_id, audit_events.c.before, audit_events.c.after).where(
                audit_events.c.action == "pr.deleted", audit_events.c.entity_id == draft["id"]
            )
        ).one()
        changes = connection.execute(
            select(outbox.c.op, outbox.c.version).where(outbox.c.entity_id == draft["id"]).order_by(outbox.c.id)
        ).all()
    assert str(audited.actor_id) == team.requester.id
    assert audited.before["number"] == draft["number"] and not audited.after
    assert changes[-1] == ("deleted", linked.body["version"])


def test_only_the_requester_may_delete_a_draft(team: Team) -> None:
    # Given rita's draft, and the clerk, who may write payment requests too
    draft = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body

    # When the clerk tries to delete it
    refused = team.clerk.browser.delete(f"/api/v1/prs/{draft['id']}")

    # Then it is refused and the draft is still there
    assert (refused.status, refused.error_code) == (403, "not_requester")
    assert team.requester.browser.get(f"/api/v1/prs/{draft['id']}").status == 200


def test_a_submitted_request_is_not_deleted(team: Team) -> None:
    # Given a request that approvers have seen
    pr_id = raise_request(team.requester, [team.step("M", "anyof", team.alice)]).body["id"]
    assert team.requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200

    # When its requester tries to delete it
    refused = team.requester.browser.delete(f"/api/v1/prs/{pr_id}")

    # Then it is 409 (cancel it instead), and it keeps its history
    assert (refused.status, refused.error_code) == (409, "invalid_transition")
    assert team.requester.browser.get(f"/api/v1/prs/{pr_id}").body["status"] == "pending"
