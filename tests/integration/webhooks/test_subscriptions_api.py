"""The subscriptions API as its users meet it: who may use it, what bad input gets back, and the
conventions every other resource follows (ETag / If-Match, audit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from integration.webhooks.conftest import subscribe

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient
    from support.webhook_receiver import Receiver

ENVELOPE = {"code", "message", "details", "timestamp", "requestId"}


def test_only_holders_of_webhooks_manage_may_use_webhooks(
    ops: ApiClient, receiver: Receiver, signed_in: Callable[..., ApiClient], client: ApiClient
) -> None:
    # Given a subscription, and a finance user with every other permission but webhooks.manage
    subscription = subscribe(ops, receiver.url)
    finance = signed_in("fin@example.com", ("pr.read", "pr.approve", "payment.read", "audit.read", "flows.manage"))
    base = f"/api/v1/webhooks/{subscription['id']}"
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/api/v1/webhooks", None),
        ("POST", "/api/v1/webhooks", {"url": receiver.url, "eventTypes": ["pr.*"]}),
        ("GET", base, None),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("GET", f"{base}/deliveries", None),
    ]
    for method, path, body in calls:
        # When they (and someone not signed in) call it
        as_finance = finance.request(method, path, json_body=body, headers={"If-Match": '"1"'})
        anonymous = client.request(method, path, json_body=body)
        # Then it is 403 and 401, with the error envelope
        assert as_finance.status == 403, (method, path, as_finance.body)
        assert set(as_finance.body["error"]) == ENVELOPE
        assert anonymous.status == 401, (method, path)
    # ... and the subscription is untouched
    assert ops.get(base).body["version"] == 1


def test_bad_input_gets_the_error_envelope_naming_each_field(ops: ApiClient) -> None:
    # When a subscription is asked for with an unknown event type, no URL and an unknown field
    refused = ops.post("/api/v1/webhooks", json_body={"eventTypes": ["pr.submitted", "users.everything"], "colour": 1})
    # Then it is 422 with the envelope, each problem on its camelCase field
    assert refused.status == 422
    assert set(refused.body["error"]) == ENVELOPE
    fields = {problem["field"] for problem in refused.body["error"]["details"]}
    assert {"url", "eventTypes[1]", "colour"} <= fields


def test_an_empty_list_of_event_types_is_refused(ops: ApiClient, receiver: Receiver) -> None:
    refused = ops.post("/api/v1/webhooks", json_body={"url": receiver.url, "eventTypes": []})
    assert refused.status == 422
    assert refused.body["error"]["details"][0]["field"] == "eventTypes"


def test_a_change_needs_the_version_read_and_is_audited(ops: ApiClient, receiver: Receiver, engine: Engine) -> None:
    # Given a subscription at version 1
    subscription = subscribe(ops, receiver.url, "pr.submitted")
    path = f"/api/v1/webhooks/{subscription['id']}"
    # When it is changed without If-Match, on a stale version, and then on the current one
    missing = ops.patch(path, json_body={"eventTypes": ["pr.*"]})
    changed = ops.patch(path, json_body={"eventTypes": ["pr.approved", "invoice.parsed"]}, headers={"If-Match": '"1"'})
    stale = ops.patch(path, json_body={"description": "late"}, headers={"If-Match": '"1"'})
    # Then 428, 200 with the new ETag, then 412
    assert missing.status == 428
    assert changed.status == 200 and changed.headers["etag"] == '"2"'
    assert changed.body["eventTypes"] == ["invoice.parsed", "pr.approved"]
    assert stale.status == 412
    # ... and the audit log has the creation and the change, never the secret
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT action, after FROM audit_events WHERE entity_id = :id ORDER BY seq"),
            {"id": subscription["id"]},
        ).all()
    assert [row.action for row in rows] == ["webhook.created", "webhook.changed"]
    assert all("secret" not in str(row.after).lower() for row in rows)


def test_create_and_rotate_refuse_an_idempotency_key_so_the_secret_is_never_stored(
    ops: ApiClient, receiver: Receiver
) -> None:
    # When a subscription is created with an Idempotency-Key
    refused = ops.post(
        "/api/v1/webhooks",
        json_body={"url": receiver.url, "eventTypes": ["pr.*"]},
        headers={"Idempotency-Key": "create-1"},
    )
    # Then it is refused (400), and nothing was created
    assert refused.status == 400 and refused.error_code == "idempotency_not_supported"
    assert ops.get("/api/v1/webhooks").body["items"] == []


def test_a_deleted_subscription_is_gone_with_its_log(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a subscription with a delivery
    subscription = subscribe(ops, receiver.url)
    raise_pr()
    run_deliverer()
    # When it is deleted
    deleted = ops.delete(f"/api/v1/webhooks/{subscription['id']}")
    # Then it answers 204, and neither it nor its log can be read any more
    assert deleted.status == 204
    assert ops.get(f"/api/v1/webhooks/{subscription['id']}").status == 404
    assert ops.get(f"/api/v1/webhooks/{subscription['id']}/deliveries").status == 404
