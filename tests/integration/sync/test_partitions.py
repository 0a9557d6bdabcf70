"""Partitioned broadcasting: connections hashed into partitions, each delivered by its own
broadcaster invocation through the real poster; every connection hears every change once, in order."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from sqlalchemy import func, insert, select, update

from integration.sync.conftest import SCHEDULED, sqs_trigger
from payreq.broadcast_plan import bucket_of, partition_of
from payreq.db import transaction
from payreq.db.schema import outbox, outbox_deliveries, sync_topics, ws_connections
from payreq.settings import sync_settings
from support.connections_endpoint import Answer, ConnectionsEndpoint
from support.team import raise_request

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine

    from integration.sync.conftest import Crew, Sockets

PARTITIONS = 3
CONNECTIONS = 90
CHANGES = 4


@pytest.fixture
def partitions(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("PAYREQ_SYNC_PARTITIONS", str(PARTITIONS))
    sync_settings.cache_clear()
    yield PARTITIONS
    sync_settings.cache_clear()


def listeners(engine: Engine, team: Crew, count: int = CONNECTIONS) -> list[str]:
    """Open connections subscribed to `prs`, hashed into buckets as `$connect` does."""
    ids = [f"{uuid.uuid4().hex[:14]}=" for _ in range(count)]
    with transaction(engine) as connection:
        connection.execute(
            insert(ws_connections),
            [
                {
                    "connection_id": connection_id,
                    "user_id": uuid.UUID(team.requester.id),
                    "topics": ["prs"],
                    "scopes": ["pr.read"],
                    "expires_at": datetime.now(UTC) + timedelta(hours=1),
                    "bucket": bucket_of(connection_id),
                }
                for connection_id in ids
            ],
        )
    return ids


def changes_made(team: Crew, count: int = CHANGES) -> list[str]:
    return [raise_request(team.requester, team.flow()).body["id"] for _ in range(count)]


def heard_ids(sockets: Sockets, connection_id: str) -> list[str]:
    return [message["id"] for message in sockets.changes(connection_id)]


def test_each_partition_delivers_its_own_connections_once_and_in_order(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine, partitions: int
) -> None:
    # Given connections spread over three partitions, and four changes committed
    ids = listeners(engine, team)
    made = changes_made(team)

    # When each partition's broadcaster runs, in any order, one of them twice (a duplicate trigger)
    order = [2, 0, 1, 2]
    sent = Counter[int]()
    for partition in order:
        sent[partition] += broadcast_now(sqs_trigger(partition=partition))["sent"]

    # Then every connection heard the four changes, each once, in the order they were made
    assert all(heard_ids(sockets, connection_id) == made for connection_id in ids)
    # And each partition posted to its own connections only, the duplicate trigger nothing
    sizes = Counter(partition_of(bucket_of(connection_id), partitions) for connection_id in ids)
    assert dict(sent) == {partition: sizes[partition] * CHANGES for partition in range(partitions)}
    with engine.connect() as connection:
        assert (
            connection.scalar(
                select(func.count()).select_from(outbox_deliveries).where(outbox_deliveries.c.delivered_at.is_(None))
            )
            == 0
        )
        assert connection.scalar(select(func.count()).select_from(outbox_deliveries)) == CHANGES * partitions


def test_partitions_delivering_at_once_number_each_change_once_and_lose_nothing(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine, partitions: int
) -> None:
    # Given connections in every partition, and changes committed
    ids = listeners(engine, team)
    made = changes_made(team)

    # When every partition's broadcaster starts at the same moment (each fans out what is new)
    start = threading.Barrier(partitions)
    failures: list[BaseException] = []

    def run(partition: int) -> None:
        try:
            start.wait()
            broadcast_now(sqs_trigger(partition=partition))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(partition,)) for partition in range(partitions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Then each change got one number per topic, and every connection heard each change once, in order
    assert failures == []
    with engine.connect() as connection:
        assert connection.scalar(select(sync_topics.c.seq).where(sync_topics.c.topic == "prs")) == CHANGES
    for connection_id in ids:
        heard = sockets.changes(connection_id)
        assert [message["id"] for message in heard] == made
        assert [message["seq"]["prs"] for message in heard] == list(range(1, CHANGES + 1))


def test_a_refused_post_in_one_partition_retries_that_partition_only(
    team: Crew,
    sockets: Sockets,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    partitions: int,
    management: ConnectionsEndpoint,
) -> None:
    # Given connections in every partition, and API Gateway refusing one connection of partition 0 with 403
    ids = listeners(engine, team)
    refused = next(connection_id for connection_id in ids if partition_of(bucket_of(connection_id), partitions) == 0)
    refusing = [True]
    management.answer = lambda connection_id, data: Answer(403) if refusing[0] and connection_id == refused else None
    (made,) = changes_made(team, 1)

    # When every partition delivers
    outcomes = [broadcast_now(sqs_trigger(partition=partition)) for partition in range(partitions)]

    # Then partition 0 has a retry due and the others are done; everyone but the refused one heard it
    assert [outcome["retrying"] for outcome in outcomes] == [1, 0, 0]
    assert all(heard_ids(sockets, connection_id) == [made] for connection_id in ids if connection_id != refused)
    assert heard_ids(sockets, refused) == []
    with engine.connect() as connection:
        pending = connection.execute(
            select(outbox_deliveries.c.partition).where(outbox_deliveries.c.delivered_at.is_(None))
        ).scalars()
        assert list(pending) == [0]

    # When the retry is due and API Gateway accepts again, the sweep delivers partition 0 only
    refusing[0] = False
    with transaction(engine) as connection:
        connection.execute(update(outbox_deliveries).values(claimed_until=func.now()))
    posts_before = management.posts()
    swept = broadcast_now(SCHEDULED)

    # Then the refused connection hears it; only partition 0's connections were posted to again
    assert heard_ids(sockets, refused) == [made]
    in_zero = sum(1 for connection_id in ids if partition_of(bucket_of(connection_id), partitions) == 0)
    assert swept["sent"] == management.posts() - posts_before == in_zero


def test_the_sweep_nudges_only_the_partitions_with_deliveries_due(
    team: Crew,
    broadcast_now: Callable[..., dict[str, Any]],
    engine: Engine,
    partitions: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a FIFO sync queue, and a change delivered to every partition but the last
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="payreq-test-sync.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    listeners(engine, team, 30)
    changes_made(team, 1)
    for partition in range(partitions - 1):
        broadcast_now(sqs_trigger(partition=partition))
    monkeypatch.setenv("PAYREQ_SYNC_QUEUE_URL", url)
    sync_settings.cache_clear()

    # When the schedule sweeps
    swept = broadcast_now(SCHEDULED)

    # Then it posts nothing itself and asks the last partition's broadcaster to run, in that partition's group
    assert (swept["sent"], swept["nudged"]) == (0, [partitions - 1])
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert message["Attributes"]["MessageGroupId"] == f"partition-{partitions - 1}"


def test_a_trigger_without_a_partition_delivers_every_partition_when_there_is_no_queue(
    team: Crew, sockets: Sockets, broadcast_now: Callable[..., dict[str, Any]], engine: Engine, partitions: int
) -> None:
    # Given a trigger from code before partitions ({"outbox": true}), and no queue to nudge
    ids = listeners(engine, team, 30)
    made = changes_made(team, 2)
    event = sqs_trigger()
    event["Records"][0]["body"] = '{"outbox": true}'

    # When it runs
    result = broadcast_now(event)

    # Then every partition was delivered in turn
    assert result["sent"] == len(ids) * 2
    assert all(heard_ids(sockets, connection_id) == made for connection_id in random.sample(ids, 10))
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox).where(outbox.c.dispatched_at.is_(None))) == 0
