"""Delivery as a receiver sees it: Standard Webhooks messages, verified by the reference verifier,
in order, retried while the receiver fails, given up and kept, and replayed on request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from integration.webhooks.conftest import subscribe

if TYPE_CHECKING:
    from collections.abc import Callable

    from support.api_client import ApiClient
    from support.team import Member
    from support.webhook_receiver import Receiver


def test_a_receiver_verifies_the_message_with_the_standard_webhooks_library(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a subscription to payment-request events, and the secret it was given once
    subscription = subscribe(ops, receiver.url, "pr.*")
    secret = subscription["secret"]
    assert secret.startswith("whsec_")
    # When a payment request is raised and the deliverer runs
    pr_id = raise_pr("Laptops")
    run_deliverer()
    # Then the receiver got one message, which the independent verifier accepts with that secret
    [message] = receiver.received
    payload = Webhook(secret).verify(message.body, message.headers)
    assert message.path == "/hooks/payreq"
    assert message.headers["webhook-id"].startswith("msg_")
    # ... and it says what happened, with the request as it now stands
    assert payload["type"] == "pr.created"
    assert payload["data"]["id"] == pr_id
    shown = payload["data"]["object"]
    assert (shown["title"], shown["amount"], shown["currency"], shown["status"]) == (
        "Laptops",
        "1250.00",
        "EUR",
        "draft",
    )
    # ... and a secret other than the subscription's is refused by the same verifier
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(message.body, message.headers)


def test_the_secret_is_shown_once_and_stored_only_encrypted(ops: ApiClient, receiver: Receiver, engine: Any) -> None:
    # Given a new subscription
    subscription = subscribe(ops, receiver.url)
    # When it is read again, alone or in the list
    read = ops.get(f"/api/v1/webhooks/{subscription['id']}")
    listed = ops.get("/api/v1/webhooks")
    # Then neither shows the secret
    assert read.status == 200 and "secret" not in read.body
    assert [item["id"] for item in listed.body["items"]] == [subscription["id"]]
    assert "secret" not in listed.body["items"][0]
    # ... and the database holds no trace of it in clear
    from sqlalchemy import text

    with engine.connect() as connection:
        stored = connection.execute(text("SELECT secret_ciphertext FROM webhook_subscriptions")).scalar_one()
    key = subscription["secret"].removeprefix("whsec_")
    assert key.encode() not in bytes(stored) and subscription["secret"].encode() not in bytes(stored)


def test_events_reach_a_subscription_in_the_order_they_happened(
    ops: ApiClient,
    receiver: Receiver,
    requester: Member,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
) -> None:
    # Given a subscription to payment-request events
    subscribe(ops, receiver.url, "pr.*")
    # When a request is raised, edited and submitted before the deliverer runs
    pr_id = raise_pr("Laptops")
    etag = requester.browser.get(f"/api/v1/prs/{pr_id}").headers["etag"]
    edited = requester.browser.patch(
        f"/api/v1/prs/{pr_id}", json_body={"title": "Laptops x3"}, headers={"If-Match": etag}
    )
    assert edited.status == 200, edited.body
    assert requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200
    run_deliverer()
    # Then the receiver got the three events in that order
    assert [message.json["type"] for message in receiver.received] == ["pr.created", "pr.edited", "pr.submitted"]


def test_only_the_event_types_asked_for_are_sent(
    ops: ApiClient,
    receiver: Receiver,
    requester: Member,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
) -> None:
    # Given a subscription to submissions only
    subscribe(ops, receiver.url, "pr.submitted")
    # When a request is raised and submitted
    pr_id = raise_pr()
    assert requester.browser.post(f"/api/v1/prs/{pr_id}/submit").status == 200
    run_deliverer()
    # Then only the submission is sent, showing the request pending
    [message] = receiver.received
    assert message.json["type"] == "pr.submitted"
    assert message.json["data"]["object"]["status"] == "pending"


def test_events_from_before_the_subscription_are_not_sent(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a request raised before anyone subscribed
    raise_pr("Before")
    # When a subscription is made and then another request is raised
    subscribe(ops, receiver.url, "pr.*")
    raise_pr("After")
    run_deliverer()
    # Then only the later one is sent
    assert [message.json["data"]["object"]["title"] for message in receiver.received] == ["After"]


def test_invoice_events_carry_the_invoice_as_it_stands(
    ops: ApiClient,
    receiver: Receiver,
    raise_pr: Callable[..., str],
    signed_in: Callable[..., ApiClient],
    run_deliverer: Callable[[], Any],
) -> None:
    # Given a subscription to invoice events only
    subscribe(ops, receiver.url, "invoice.*")
    clerk = signed_in("clerk@example.com", ("invoice.read", "invoice.write"))
    # When a clerk enters an invoice by hand (and a payment request is raised too)
    entered = clerk.post(
        "/api/v1/invoices",
        json_body={"number": "INV-7", "vendor": "ACME Hardware", "currency": "EUR", "total": "99.50"},
    )
    assert entered.status == 201, entered.body
    raise_pr()
    run_deliverer()
    # Then only the invoice's event arrives, with its fields in the API's form
    [message] = receiver.received
    assert message.json["type"] == "invoice.created"
    shown = message.json["data"]["object"]
    assert (shown["id"], shown["invoiceNumber"], shown["vendor"], shown["total"]) == (
        entered.body["id"],
        "INV-7",
        "ACME Hardware",
        "99.50",
    )
    # ... without the internal search keys
    assert "vendorKey" not in shown and "invoiceNumberKey" not in shown


def test_two_passes_at_once_send_each_message_once_and_in_order(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given three events for a receiver that takes its time to answer
    receiver.delay_seconds = 0.3
    subscribe(ops, receiver.url, "pr.*")
    for title in ("One", "Two", "Three"):
        raise_pr(title)
    # When two deliverer passes run at the same time (a queue message and the schedule)
    with ThreadPoolExecutor(max_workers=2) as passes:
        for finished in [passes.submit(run_deliverer), passes.submit(run_deliverer)]:
            finished.result()
    # Then each message arrived once, in the order the changes happened
    assert [message.json["data"]["object"]["title"] for message in receiver.received] == ["One", "Two", "Three"]


def test_delegations_are_events_a_receiver_may_subscribe_to(
    ops: ApiClient,
    receiver: Receiver,
    approver: Member,
    signed_in: Callable[..., ApiClient],
    run_deliverer: Callable[[], Any],
) -> None:
    # Given a subscription to delegations (an HR or chat integration), and a second approver
    subscription = subscribe(ops, receiver.url, "delegation.*")
    deputy = signed_in("dave@example.com", ("pr.read", "pr.approve")).get("/api/v1/me").body["id"]

    # When the approver hands their approvals to the deputy for a week, up to 5,000 EUR
    ends_at = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    made = approver.browser.post(
        "/api/v1/delegations",
        json_body={"delegateId": deputy, "endsAt": ends_at, "amountLimit": "5000", "limitCurrency": "EUR"},
    )
    assert made.status == 201, made.body
    run_deliverer()

    # Then the receiver hears who delegated to whom, with the limit as the API shows amounts
    [message] = receiver.received
    payload = Webhook(subscription["secret"]).verify(message.body, message.headers)
    shown = payload["data"]["object"]
    assert payload["type"] == "delegation.created"
    assert (shown["delegatorId"], shown["delegateId"]) == (approver.id, deputy)
    assert (shown["amountLimit"], shown["limitCurrency"]) == ("5000.00", "EUR")
