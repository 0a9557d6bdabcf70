"""The broadcaster's decisions without a database or a socket: partitions, who hears what, what
API Gateway's answers mean, and what a batch's posts settle."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest

from payreq.broadcast_plan import (
    BUCKETS,
    MAX_ATTEMPTS,
    RETRY_SECONDS,
    Message,
    OutboxRow,
    PostResult,
    Subscriber,
    address,
    bucket_of,
    partition_of,
    partitions_asked,
    settle_plan,
    verdict,
)
from payreq.connections_poster import ConnectionsPoster, Reply, region_of


def row(row_id: int, entity: str = "pr", topics: tuple[str, ...] = ("prs", "pr:7"), attempts: int = 1) -> OutboxRow:
    return OutboxRow(
        id=row_id,
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
        entity=entity,
        entity_id="7",
        op="updated",
        version=row_id,
        topics=list(topics),
        topic_seqs=[10 + row_id, row_id][: len(topics)],
        attempts=attempts,
    )


def reader(connection_id: str, *topics: str, may: str = "pr.read") -> Subscriber:
    return Subscriber(connection_id, frozenset(topics), frozenset({may}))


def test_a_connection_keeps_its_bucket_and_partitions_split_the_connections_evenly() -> None:
    # Given 10,000 connection ids as API Gateway makes them (the same ones every run)
    ids = [f"{uuid.UUID(int=random.Random(21 + n).getrandbits(128)).hex[:14]}=" for n in range(10_000)]

    # When they are hashed into 10 partitions
    sizes = Counter(partition_of(bucket_of(connection_id), 10) for connection_id in ids)

    # Then every partition gets its share (within 10 %), and one id always lands in one place
    assert sorted(sizes) == list(range(10))
    assert all(900 <= size <= 1100 for size in sizes.values()), sizes
    assert bucket_of(ids[0]) == bucket_of(ids[0]) and 0 <= bucket_of(ids[0]) < BUCKETS
    assert {partition_of(bucket_of(connection_id), 1) for connection_id in ids} == {0}


def test_each_subscriber_hears_the_rows_it_may_read_in_outbox_order_with_its_own_topics_numbers() -> None:
    # Given two changes to request 7, and three connections
    rows = [row(1), row(2)]
    everyone = reader("a=", "prs")
    one_request = reader("b=", "pr:7")
    payments_only = reader("c=", "prs", may="payment.read")

    # When they are addressed
    messages, oversized = address(rows, [everyone, one_request, payments_only])

    # Then each reader gets both, in order, numbered by the topics it listens to; the third gets nothing
    heard = {connection: [json.loads(m.data) for m in sent] for connection, sent in messages.items()}
    assert sorted(heard) == ["a=", "b="]
    assert [(m["cursor"], m["seq"]) for m in heard["a="]] == [(1, {"prs": 11}), (2, {"prs": 12})]
    assert [(m["cursor"], m["seq"]) for m in heard["b="]] == [(1, {"pr:7": 1}), (2, {"pr:7": 2})]
    assert oversized == []


def test_a_row_of_an_unknown_entity_is_addressed_to_nobody() -> None:
    messages, _ = address([row(1, entity="audit", topics=("audits",))], [reader("a=", "audits")])

    assert messages == {}


@pytest.mark.parametrize(
    ("reply", "meaning"),
    [
        (Reply(200), "sent"),
        (Reply(410, "GoneException"), "gone"),
        (Reply(410), "gone"),
        (Reply(429, "LimitExceededException"), "throttled"),
        (Reply(400, "TooManyRequestsException"), "throttled"),
        # Refused by API Gateway (private DNS, a missing permission): nothing reached the client.
        (Reply(403, "ForbiddenException"), "failed"),
        (Reply(500, "InternalServerErrorException"), "failed"),
        (Reply(0, "ReadTimeoutError"), "failed"),
    ],
)
def test_what_an_answer_from_connections_means(reply: Reply, meaning: str) -> None:
    assert verdict(reply) == meaning


def test_a_batch_settles_gone_connections_delivered_rows_retries_and_rows_given_up() -> None:
    # Given three rows: one all sent, one a post of which failed (first attempt), one failing on its last
    rows = [row(1), row(2), row(3, attempts=MAX_ATTEMPTS)]
    results = {
        "a=": [(Message(1, b"1"), PostResult("sent")), (Message(2, b"2"), PostResult("failed", throttled=4))],
        "b=": [(Message(1, b"1"), PostResult("gone"))],
        "c=": [(Message(3, b"3"), PostResult("failed"))],
    }

    # When the batch is settled
    plan = settle_plan(rows, results)

    # Then the gone connection goes, row 1 is delivered (a gone reader cannot hear it anyway),
    # row 2 is retried after RETRY_SECONDS, row 3 is given up
    assert plan.gone == {"b="}
    assert plan.delivered == (1,)
    assert plan.retry == {2: RETRY_SECONDS}
    assert plan.abandoned == (3,)
    outcome = plan.outcome
    assert (outcome.events, outcome.sent, outcome.gone, outcome.failed, outcome.throttled) == (3, 1, 1, 2, 4)
    assert (outcome.retrying, outcome.abandoned) == (1, 1)


def test_a_row_nobody_listens_to_is_delivered_at_once() -> None:
    plan = settle_plan([row(1)], {})

    assert (plan.delivered, plan.retry, plan.abandoned) == ((1,), {}, ())


def test_queue_messages_name_their_partitions_and_one_without_asks_for_all() -> None:
    bodies = [json.dumps({"outbox": True, "partition": 2}), json.dumps({"outbox": True, "partition": 0})]

    assert partitions_asked(bodies, 3) == ([0, 2], False)
    assert partitions_asked([*bodies, json.dumps({"outbox": True})], 3) == ([0, 2], True)
    # A partition beyond today's count (the number was lowered since it was sent): all of them
    assert partitions_asked([json.dumps({"outbox": True, "partition": 5})], 3) == ([], True)
    assert partitions_asked(["not json"], 1) == ([], True)


def test_posts_are_signed_for_the_region_of_the_api() -> None:
    assert region_of("https://m3p8v1zc6b.execute-api.eu-west-1.amazonaws.com/prod") == "eu-west-1"


@pytest.mark.parametrize(
    ("endpoint", "token"),
    [
        ("https://m3p8v1zc6b.execute-api.eu-west-1.amazonaws.com/prod", "session-token"),
        ("http://localhost:3000", None),
    ],
)
def test_the_posters_signer_signs_exactly_as_botocores(
    endpoint: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one moment, one set of credentials and one post
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: datetime(2026, 12, 2, 4, 20, 5))
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    poster = ConnectionsPoster(endpoint, region="eu-west-1", credentials=credentials, concurrency=1)
    connection_id = "L0SM9cOFvHcCIhw="

    # When the poster builds its request, and botocore's own signer signs the same one
    sent = poster.request_bytes(connection_id, b'{"type":"change"}').decode()
    request = AWSRequest(
        method="POST", url=f"{endpoint}/@connections/{quote(connection_id, safe='')}", data=b'{"type":"change"}'
    )
    SigV4Auth(credentials, "execute-api", "eu-west-1").add_auth(request)

    # Then both carry the same signature (twice: the second from the kept signing key)
    assert f"Authorization: {request.headers['Authorization']}" in sent
    again = poster.request_bytes(connection_id, b'{"type":"change"}').decode()
    assert f"Authorization: {request.headers['Authorization']}" in again
    assert sent.startswith(f"POST {urlsplit(endpoint).path}/@connections/L0SM9cOFvHcCIhw%3D HTTP/1.1\r\n")
