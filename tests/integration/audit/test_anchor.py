"""Anchoring the chain's head in S3: one object per head, never rewritten, named to sort by position."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from audit_api import anchor
from audit_api.settings import anchor_settings
from integration.audit.conftest import append
from payreq.db import transaction
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

BUCKET = "payreq-test-audit-anchors"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AUDIT_ANCHOR_BUCKET", BUCKET)
    anchor_settings.cache_clear()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        # As the template makes it: versioned, under Object Lock
        client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield client
    anchor_settings.cache_clear()


def keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def log_events(engine: Engine, count: int) -> dict[str, Any]:
    with transaction(engine) as connection:
        return [append(connection, entity_id=str(n)) for n in range(count)][-1]


def test_the_head_is_anchored_once(engine: Engine, s3: Any) -> None:
    # Given a log of five events
    head = log_events(engine, 5)

    # When the schedule fires twice with no event in between
    first = anchor.anchor_chain_head(engine, s3, BUCKET, now=NOW)
    second = anchor.anchor_chain_head(engine, s3, BUCKET, now=NOW)

    # Then the head was written once, under its position and hash
    key = f"anchors/00000000000000000005-{head['hash'].hex()}.json"
    assert first is not None and second is not None
    assert (first.key, first.written, second.written) == (key, True, False)
    assert keys(s3) == [key]
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert stored == {
        "seq": 5,
        "hash": head["hash"].hex(),
        "eventId": str(head["event_id"]),
        "occurredAt": head["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "anchoredAt": "2026-11-22T10:00:00.000000Z",
    }


def test_each_new_head_gets_its_own_anchor_in_chain_order(engine: Engine, s3: Any) -> None:
    log_events(engine, 9)
    anchor.anchor_chain_head(engine, s3, BUCKET, now=NOW)
    log_events(engine, 3)
    anchor.anchor_chain_head(engine, s3, BUCKET, now=NOW)

    assert [key.split("-")[0] for key in keys(s3)] == ["anchors/00000000000000000009", "anchors/00000000000000000012"]


def test_an_empty_log_anchors_nothing(engine: Engine, s3: Any) -> None:
    assert anchor.anchor_chain_head(engine, s3, BUCKET, now=NOW) is None
    assert keys(s3) == []


def test_the_scheduled_handler_anchors_into_the_configured_bucket(engine: Engine, s3: Any) -> None:
    head = log_events(engine, 2)

    result = anchor.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeLambdaContext())

    assert result["written"] is True and result["seq"] == 2 and result["hash"] == head["hash"].hex()
    assert keys(s3) == [result["anchored"]]
