"""`GET /api/v1/audit-events/verify`: the chain's state as an auditor sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from audit_api import anchor
from audit_api.settings import anchor_settings
from integration.audit.conftest import append, tamper
from payreq.db import transaction
from payreq.db.schema import audit_events
from payreq_cli import main

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


@pytest.fixture
def auditor(signed_in: Callable[..., ApiClient], engine: Engine) -> ApiClient:
    browser = signed_in("auditor@example.com", ("audit.read",))  # two events: user.created, test_login
    with transaction(engine) as connection:
        for n in range(20):
            append(connection, entity_id=str(n))
    return browser


def test_an_intact_chain_reports_its_head(auditor: ApiClient, engine: Engine) -> None:
    with engine.connect() as connection:
        head = connection.execute(select(audit_events.c.hash).where(audit_events.c.seq == 22)).scalar_one()

    answer = auditor.get("/api/v1/audit-events/verify")

    assert answer.status == 200
    assert answer.body == {
        "intact": True,
        "checked": 22,
        "headSeq": 22,
        "headHash": head.hex(),
        "firstBroken": None,
        "anchor": {
            "status": "unanchored",
            "anchorSeq": None,
            "anchorHash": None,
            "chainHash": None,
            "message": "no anchor yet: the chain's tail is unchecked",
        },
    }


def test_a_broken_chain_names_the_first_broken_row(auditor: ApiClient, engine: Engine) -> None:
    with engine.connect() as connection:
        edited, event_id = connection.execute(
            select(audit_events.c.id, audit_events.c.event_id).where(audit_events.c.seq == 9)
        ).one()
    tamper(engine, "UPDATE audit_events SET action = 'thing.viewed' WHERE id = :id", id=edited)

    answer = auditor.get("/api/v1/audit-events/verify")

    assert answer.status == 200
    assert (answer.body["intact"], answer.body["checked"], answer.body["headSeq"]) == (False, 8, 8)
    broken = answer.body["firstBroken"]
    assert (broken["rowId"], broken["seq"], broken["eventId"], broken["reason"]) == (
        edited,
        9,
        str(event_id),
        "hash_mismatch",
    )
    assert broken["message"].startswith(f"row id {edited} (seq 9, event {event_id})")


@pytest.fixture
def anchors(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The stack's anchor bucket (moto), as the template makes it: versioned, under Object Lock."""
    monkeypatch.setenv("AUDIT_ANCHOR_BUCKET", ANCHOR_BUCKET)
    anchor_settings.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=ANCHOR_BUCKET, ObjectLockEnabledForBucket=True)
        yield s3
    anchor_settings.cache_clear()


ANCHOR_BUCKET = "payreq-test-audit-anchors"


def test_a_deleted_tail_is_reported_against_the_latest_anchor(auditor: ApiClient, engine: Engine, anchors: Any) -> None:
    # Given the chain's head anchored at seq 22
    anchored = anchor.anchor_chain_head(engine, anchors, ANCHOR_BUCKET, now=datetime.now(UTC))
    assert anchored is not None and anchored.seq == 22
    assert auditor.get("/api/v1/audit-events/verify").body["anchor"]["status"] == "matches"

    # When someone with the owner's rights deletes the newest events (the chain still links)
    tamper(engine, "DELETE FROM audit_events WHERE seq > 15")

    # Then the verification reports the truncation, with the positions involved
    answer = auditor.get("/api/v1/audit-events/verify").body
    assert (answer["intact"], answer["firstBroken"]) == (False, None)
    assert (answer["anchor"]["status"], answer["anchor"]["anchorSeq"]) == ("truncated", 22)


def test_a_recomputed_tail_is_reported_as_rewritten(auditor: ApiClient, engine: Engine, anchors: Any) -> None:
    # Given the head anchored at seq 22
    anchor.anchor_chain_head(engine, anchors, ANCHOR_BUCKET, now=datetime.now(UTC))

    # When the tail is deleted and new, validly chained events take its place
    tamper(engine, "DELETE FROM audit_events WHERE seq > 15")
    with transaction(engine) as connection:
        for n in range(10):
            append(connection, entity_id=f"forged-{n}")

    # Then the chain verifies on its own, but not against the anchor
    answer = auditor.get("/api/v1/audit-events/verify").body
    assert (answer["checked"], answer["firstBroken"]) == (25, None)
    assert (answer["intact"], answer["anchor"]["status"]) == (False, "rewritten")


def test_the_cli_exits_1_on_a_truncated_tail(
    auditor: ApiClient, engine: Engine, anchors: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor.anchor_chain_head(engine, anchors, ANCHOR_BUCKET, now=datetime.now(UTC))
    tamper(engine, "DELETE FROM audit_events WHERE seq > 15")

    assert main(["audit", "verify"]) == 1
    assert "truncated: the latest anchor is at seq 22" in capsys.readouterr().err
