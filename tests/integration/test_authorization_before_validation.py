"""Who may call a route is decided before what they sent is validated: an unauthorized caller is
refused (and audited), never told what a valid body would look like."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from payreq.db.schema import audit_events

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


def test_an_invalid_body_without_credentials_is_401_not_422(client: ApiClient, engine: Engine) -> None:
    # Given nobody signed in
    # When they post a body the route would reject
    response = client.post("/api/v1/prs", json_body={"amount": "not money"})

    # Then they are asked to sign in, and the attempt is a security event
    assert response.status == 401, response.body
    assert response.body["error"]["code"] == "unauthenticated"
    with engine.connect() as connection:
        actions = connection.scalars(
            select(audit_events.c.action).where(audit_events.c.request_id == response.body["error"]["requestId"])
        ).all()
    assert "access_denied" in actions


def test_an_invalid_body_without_the_permission_is_403_not_422(signed_in: Callable[..., ApiClient]) -> None:
    # Given someone who may read payment requests but not raise them
    reader = signed_in("reader@example.com", ("pr.read",))

    # When they post an empty body to create one
    response = reader.post("/api/v1/prs", json_body={})

    # Then they are refused for the permission, not corrected on the body
    assert response.status == 403, response.body
    assert response.body["error"]["details"] == [
        {"field": None, "message": "needs pr.write", "code": "missing_permission"}
    ]


def test_a_cross_site_write_with_an_invalid_body_is_403_not_422(
    signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given a signed-in requester whose browser is on another site's page (no X-Requested-With)
    requester = signed_in("rita@example.com", ("pr.read", "pr.write"))
    requester.headers = {"Origin": "https://evil.example"}

    # When that page posts a body the route would reject
    response = requester.post("/api/v1/prs", json_body={"amount": "not money"})

    # Then it is refused as cross-site, with nothing said about the body, and the refusal is audited
    assert (response.status, response.error_code, response.body["error"]["details"]) == (403, "csrf_failed", [])
    with engine.connect() as connection:
        reasons = connection.scalars(
            select(audit_events.c.after["reason"].astext).where(
                audit_events.c.request_id == response.body["error"]["requestId"]
            )
        ).all()
    assert reasons == ["csrf"]


def test_a_permitted_caller_still_gets_the_validation_error(signed_in: Callable[..., ApiClient]) -> None:
    requester = signed_in("rita@example.com", ("pr.read", "pr.write"))

    response = requester.post("/api/v1/prs", json_body={})

    assert response.status == 422, response.body
    assert response.body["error"]["code"] == "validation_error"


def test_a_refusal_by_a_flow_is_a_security_event_too(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    # Given rita's draft request, and mallory who may write requests too
    rita = signed_in("rita@example.com", ("pr.read", "pr.write"))
    mallory = signed_in("mallory@example.com", ("pr.read", "pr.write"))
    mallory_id = mallory.get("/api/v1/me").body["id"]
    draft = rita.post("/api/v1/prs", json_body=raise_body(approver=mallory_id))
    assert draft.status == 201, draft.body

    # When mallory tries to submit it
    response = mallory.post(f"/api/v1/prs/{draft.body['id']}/submit")

    # Then the flow refuses her, and the refusal is audited under her request's id
    assert response.status == 403, response.body
    with engine.connect() as connection:
        details = connection.scalars(
            select(audit_events.c.after).where(
                audit_events.c.request_id == response.body["error"]["requestId"],
                audit_events.c.action == "access_denied",
            )
        ).all()
    assert [detail["reason"] for detail in details] == ["not_requester"]


def raise_body(approver: str) -> dict[str, object]:
    return {
        "title": "Desks",
        "payee": "ACME",
        "amount": "100.00",
        "currency": "EUR",
        "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [approver]}],
    }
