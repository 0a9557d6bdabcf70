"""A receiver that fails: retried in order, given up and kept in the log, disabled after repeated
failure (audited), and messages replayed on request. The tests run the retry schedule with no waits
(`PAYREQ_WEBHOOK_RETRY_SECONDS=0 0`: two retries) and disable after two given-up deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from integration.webhooks.conftest import subscribe

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient
    from support.webhook_receiver import Receiver


def log(ops: ApiClient, subscription_id: str) -> list[dict[str, Any]]:
    """The delivery log, oldest first."""
    answer = ops.get(f"/api/v1/webhooks/{subscription_id}/deliveries")
    assert answer.status == 200, answer.body
    return list(reversed(answer.body["items"]))


def test_a_failing_receiver_is_retried_and_later_events_wait_their_turn(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a receiver that fails twice (500, then 503) and then accepts
    receiver.answers = [500, 503, 204]
    subscription = subscribe(ops, receiver.url)
    raise_pr("First")
    raise_pr("Second")
    # When the deliverer runs once
    run_deliverer()
    # Then the first event was tried once and the second was held back behind it
    assert [message.json["data"]["object"]["title"] for message in receiver.received] == ["First"]
    first, second = log(ops, subscription["id"])
    assert (first["status"], first["attempts"], first["responseStatus"]) == ("pending", 1, 500)
    assert (second["status"], second["attempts"]) == ("pending", 0)
    # When it runs twice more
    run_deliverer()
    run_deliverer()
    # Then the first went through on its third attempt, then the second, in that order
    titles = [message.json["data"]["object"]["title"] for message in receiver.received]
    assert titles == ["First", "First", "First", "Second"]
    first, second = log(ops, subscription["id"])
    assert (first["status"], first["attempts"], first["responseStatus"]) == ("succeeded", 3, 204)
    assert first["latencyMs"] is not None and first["nextAttemptAt"] is None
    assert (second["status"], second["attempts"]) == ("succeeded", 1)
    # ... and every attempt of one message carried the same webhook-id and body, each signed afresh
    attempts = receiver.received[:3]
    assert len({message.headers["webhook-id"] for message in attempts}) == 1
    assert len({message.body for message in attempts}) == 1
    for message in attempts:
        Webhook(subscription["secret"]).verify(message.body, message.headers)


def test_a_delivery_is_given_up_after_the_last_retry_and_kept_in_the_log(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a receiver that always answers 500
    receiver.answers = [500]
    subscription = subscribe(ops, receiver.url)
    raise_pr("Never accepted")
    # When the deliverer has run more often than there are retries
    for _ in range(4):
        run_deliverer()
    # Then the message was sent three times (the attempt and two retries) and then given up
    assert len(receiver.received) == 3
    [delivery] = log(ops, subscription["id"])
    assert (delivery["status"], delivery["attempts"], delivery["responseStatus"]) == ("failed", 3, 500)
    # ... and the subscription is still enabled, one failure counted
    read = ops.get(f"/api/v1/webhooks/{subscription['id']}").body
    assert (read["enabled"], read["failedDeliveriesInARow"]) == (True, 1)


def test_a_subscription_that_keeps_failing_is_disabled_and_the_audit_log_says_so(
    ops: ApiClient,
    receiver: Receiver,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
    engine: Engine,
) -> None:
    # Given a receiver that always fails, and two events for it
    receiver.answers = [503]
    subscription = subscribe(ops, receiver.url)
    raise_pr("One")
    raise_pr("Two")
    # When both deliveries have failed every retry
    for _ in range(6):
        run_deliverer()
    # Then the subscription is disabled, and says why
    read = ops.get(f"/api/v1/webhooks/{subscription['id']}").body
    assert read["enabled"] is False
    assert "2 deliveries in a row" in read["disabledReason"]
    # ... the audit log has the disabling, by the system
    with engine.connect() as connection:
        audited = connection.execute(
            text("SELECT actor_id, after FROM audit_events WHERE action = 'webhook.disabled' AND entity_id = :id"),
            {"id": subscription["id"]},
        ).one()
    assert audited.actor_id is None and audited.after["enabled"] is False
    # ... and later events are not sent to it
    sent = len(receiver.received)
    raise_pr("Three")
    run_deliverer()
    assert len(receiver.received) == sent


def test_a_disabled_subscription_gets_nothing_and_enabled_again_gets_what_follows(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a subscription disabled by a person while an event waits for it
    subscription = subscribe(ops, receiver.url)
    disabled = ops.patch(
        f"/api/v1/webhooks/{subscription['id']}", json_body={"enabled": False}, headers={"If-Match": '"1"'}
    )
    assert disabled.status == 200 and disabled.body["enabled"] is False
    raise_pr("While disabled")
    run_deliverer()
    assert receiver.received == []
    # When it is enabled again
    enabled = ops.patch(
        f"/api/v1/webhooks/{subscription['id']}", json_body={"enabled": True}, headers={"If-Match": '"2"'}
    )
    assert enabled.status == 200, enabled.body
    raise_pr("After")
    run_deliverer()
    # Then only what happened while it was enabled is sent
    assert [message.json["data"]["object"]["title"] for message in receiver.received] == ["After"]


def test_a_replay_sends_the_same_message_again(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a message the receiver accepted
    subscription = subscribe(ops, receiver.url)
    raise_pr("Replayed")
    run_deliverer()
    [original] = log(ops, subscription["id"])
    # When its delivery is replayed and the deliverer runs
    replayed = ops.post(f"/api/v1/webhooks/{subscription['id']}/deliveries/{original['id']}/replay")
    run_deliverer()
    # Then the replay is queued (202), and the receiver got the same message, id and body, twice
    assert replayed.status == 202, replayed.body
    assert (replayed.body["replayOf"], replayed.body["status"]) == (original["id"], "pending")
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == original["messageId"]
    assert first.body == second.body
    Webhook(subscription["secret"]).verify(second.body, second.headers)
    # ... and the log shows both deliveries succeeded
    assert [(row["id"], row["status"]) for row in log(ops, subscription["id"])] == [
        (original["id"], "succeeded"),
        (replayed.body["id"], "succeeded"),
    ]


def test_a_failed_delivery_is_replayed_once_the_receiver_is_back(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a delivery given up while the receiver was down
    receiver.answers = [500, 500, 500, 204]
    subscription = subscribe(ops, receiver.url)
    raise_pr()
    for _ in range(3):
        run_deliverer()
    [failed] = log(ops, subscription["id"])
    assert failed["status"] == "failed"
    # When it is replayed with the receiver back
    replay = ops.post(f"/api/v1/webhooks/{subscription['id']}/deliveries/{failed['id']}/replay")
    run_deliverer()
    # Then the replay succeeded
    assert replay.status == 202
    assert [row["status"] for row in log(ops, subscription["id"])] == ["failed", "succeeded"]


def test_a_disabled_subscription_refuses_replays(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a delivered message, and then its subscription disabled
    subscription = subscribe(ops, receiver.url)
    raise_pr()
    run_deliverer()
    [delivery] = log(ops, subscription["id"])
    ops.patch(f"/api/v1/webhooks/{subscription['id']}", json_body={"enabled": False}, headers={"If-Match": '"1"'})
    # When its delivery is replayed
    refused = ops.post(f"/api/v1/webhooks/{subscription['id']}/deliveries/{delivery['id']}/replay")
    # Then it is refused (409) with the error envelope
    assert refused.status == 409
    assert refused.error_code == "subscription_disabled"


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    ops: ApiClient, receiver: Receiver, raise_pr: Callable[..., str], run_deliverer: Callable[[], Any]
) -> None:
    # Given a receiver that redirects elsewhere
    receiver.answers = [307]
    receiver.extra_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    subscription = subscribe(ops, receiver.url)
    raise_pr()
    # When the deliverer runs
    run_deliverer()
    # Then only the receiver was called, and the attempt failed, saying why
    assert len(receiver.received) == 1
    [delivery] = log(ops, subscription["id"])
    assert (delivery["status"], delivery["responseStatus"]) == ("pending", 307)
    assert "redirect" in delivery["lastError"]


def test_after_a_rotation_old_and_new_secret_both_verify_until_the_overlap_ends(
    ops: ApiClient,
    receiver: Receiver,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
    monkeypatch: Any,
) -> None:
    # Given a subscription whose secret is rotated
    subscription = subscribe(ops, receiver.url)
    old_secret = subscription["secret"]
    rotated = ops.post(f"/api/v1/webhooks/{subscription['id']}/rotate-secret")
    assert rotated.status == 200, rotated.body
    new_secret = rotated.body["secret"]
    assert new_secret != old_secret and rotated.body["previousSecretExpiresAt"] is not None
    # When an event is delivered during the overlap
    raise_pr("During the overlap")
    run_deliverer()
    # Then a receiver holding either secret accepts it (two signatures)
    [during] = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(during.body, during.headers)
    Webhook(new_secret).verify(during.body, during.headers)
    # When the secret is rotated again with no overlap left for the one it replaces
    monkeypatch.setenv("PAYREQ_WEBHOOK_ROTATION_OVERLAP_SECONDS", "0")
    newest_secret = ops.post(f"/api/v1/webhooks/{subscription['id']}/rotate-secret").body["secret"]
    raise_pr("After the overlap")
    run_deliverer()
    # Then only the newest secret signs
    after = receiver.received[1]
    Webhook(newest_secret).verify(after.body, after.headers)
    for retired in (old_secret, new_secret):
        with pytest.raises(WebhookVerificationError):
            Webhook(retired).verify(after.body, after.headers)


def test_a_retry_due_within_fifteen_minutes_is_a_delayed_message_on_the_queue(
    ops: ApiClient,
    receiver: Receiver,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
    kms: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the deliverer's queue, a retry schedule of 5 minutes then a day, and a failing receiver
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="payreq-test-webhooks")["QueueUrl"]
    monkeypatch.setenv("PAYREQ_WEBHOOK_QUEUE_URL", queue_url)
    monkeypatch.setenv("PAYREQ_WEBHOOK_RETRY_SECONDS", "300 86400")
    receiver.answers = [500]
    subscription = subscribe(ops, receiver.url)
    raise_pr()
    # When the first attempt fails
    run_deliverer()
    # Then the delivery waits 5 minutes, and a message delayed by as much will run the pass then
    [delivery] = log(ops, subscription["id"])
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    # ... and a pass before then sends nothing
    run_deliverer()
    assert len(receiver.received) == 1
