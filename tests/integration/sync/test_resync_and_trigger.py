"""A reconnecting client catches up from its cursor; a committed change triggers the broadcaster."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from payreq.db import transaction
from payreq.outbox import publish_change
from payreq.settings import sync_settings
from support.team import raise_request

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from integration.sync.conftest import Crew, Sockets
    from support.api_client import ApiClient


def test_changes_since_a_cursor_are_exactly_the_missed_ones_the_caller_may_read(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine
) -> None:
    # Given a client that heard the first change, then lost its socket
    listener = sockets.subscribed(team.requester.browser, "prs")
    raise_request(team.requester, team.flow())
    broadcast_now()
    (heard,) = sockets.changes(listener)
    sockets.disconnect(listener)

    # When more changes happen: two requests (one submitted), and a payment it may not read
    second = raise_request(team.requester, team.flow()).body
    third = raise_request(team.requester, team.flow()).body
    assert team.requester.browser.post(f"/api/v1/prs/{third['id']}/submit").status == 200
    with transaction(engine) as connection:
        publish_change(connection, entity="payment", entity_id=uuid.uuid4(), op="created", version=1)
    broadcast_now()

    # Then the changes after its cursor are exactly the three it missed, in order
    missed = team.requester.browser.get("/api/v1/sync/changes", query={"since": str(heard["cursor"])})
    assert missed.status == 200, missed.body
    body = missed.body
    assert [(c["id"], c["op"], c["version"]) for c in body["items"]] == [
        (second["id"], "created", second["version"]),
        (third["id"], "created", third["version"]),
        (third["id"], "updated", third["version"] + 1),
    ]
    assert [c["seq"]["prs"] for c in body["items"]] == [2, 3, 4]
    assert body["hasMore"] is False
    assert body["cursor"] > body["items"][-1]["cursor"]  # past the payment it may not read
    assert team.requester.browser.get("/api/v1/sync/changes", query={"since": str(body["cursor"])}).body == {
        "items": [],
        "cursor": body["cursor"],
        "hasMore": False,
    }
    # and pages: one at a time
    page = team.requester.browser.get("/api/v1/sync/changes", query={"since": str(heard["cursor"]), "limit": "1"})
    assert (len(page.body["items"]), page.body["hasMore"]) == (1, True)
    assert page.body["cursor"] == page.body["items"][0]["cursor"]


def test_changes_need_a_signed_in_caller_and_a_valid_cursor(
    client: ApiClient, signed_in: Callable[..., ApiClient]
) -> None:
    assert client.get("/api/v1/sync/changes").status == 401
    assert signed_in("rita@example.com", ("pr.read",)).get("/api/v1/sync/changes", query={"since": "x"}).status == 422
    # With no read permission at all, nothing, and the cursor at the newest change
    assert signed_in("nobody@example.com", ()).get("/api/v1/sync/changes").body == {
        "items": [],
        "cursor": 0,
        "hasMore": False,
    }


@pytest.fixture
def sync_queue(management: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sync queue as the template makes it (FIFO); reading it answers (body, message group) pairs."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="payreq-test-sync.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    monkeypatch.setenv("PAYREQ_SYNC_QUEUE_URL", url)

    def read() -> list[tuple[dict[str, Any], str]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [(json.loads(message["Body"]), message["Attributes"]["MessageGroupId"]) for message in messages]

    return read


def test_a_committed_change_sends_one_trigger_and_a_rolled_back_one_none(
    team: Crew, sync_queue: Callable[[], list[tuple[dict[str, Any], str]]], engine: Engine
) -> None:
    # A change with two outbox rows: one message, for the one partition
    with transaction(engine) as connection:
        publish_change(connection, entity="pr", entity_id=uuid.uuid4(), op="created", version=1)
        publish_change(connection, entity="pr", entity_id=uuid.uuid4(), op="created", version=1)
    assert sync_queue() == [({"outbox": True, "partition": 0}, "partition-0")]

    # A rolled-back one: none
    with pytest.raises(RuntimeError), transaction(engine) as connection:
        publish_change(connection, entity="pr", entity_id=uuid.uuid4(), op="created", version=1)
        raise RuntimeError("rolled back")
    assert sync_queue() == []

    # A flow's change, through the API
    assert raise_request(team.requester, team.flow()).status == 201
    assert len(sync_queue()) == 1


def test_with_partitions_a_change_nudges_each_partition_in_its_own_message_group(
    team: Crew, sync_queue: Callable[[], list[tuple[dict[str, Any], str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three partitions
    monkeypatch.setenv("PAYREQ_SYNC_PARTITIONS", "3")
    sync_settings.cache_clear()
    try:
        # When a change commits
        assert raise_request(team.requester, team.flow()).status == 201

        # Then each partition's broadcaster is asked for, in the partition's own group
        heard = sorted(sync_queue(), key=lambda message: message[1])
        assert heard == [({"outbox": True, "partition": p}, f"partition-{p}") for p in range(3)]
    finally:
        sync_settings.cache_clear()


def test_a_trigger_that_cannot_be_sent_does_not_fail_the_committed_change(
    team: Crew, management: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYREQ_SYNC_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")

    assert raise_request(team.requester, team.flow()).status == 201


def test_a_change_reads_the_same_on_the_socket_and_in_the_changes_list(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]]
) -> None:
    # Given a client that heard a change live
    listener = sockets.subscribed(team.requester.browser, "prs")
    raise_request(team.requester, team.flow())
    broadcast_now()
    (heard,) = sockets.changes(listener)

    # When it lists the same change after resyncing from before it
    listed = team.requester.browser.get("/api/v1/sync/changes", query={"since": str(heard["cursor"] - 1)})

    # Then both say it the same way, its time in UTC with a Z
    (same,) = (change for change in listed.body["items"] if change["eventId"] == heard["eventId"])
    assert same["at"] == heard["at"]
    assert heard["at"].endswith("Z")
