"""Live sync's pure parts: topics to entities, the change message, the frame limit."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from payreq.broadcast_plan import MAX_FRAME_BYTES, change_message, entity_of
from payreq.outbox import default_topics
from sync_api.connections import TOPIC, readable


@pytest.mark.parametrize(
    ("topic", "entity"),
    [("prs", "pr"), ("pr:7f3c", "pr"), ("invoices", "invoice"), ("invoice:1", "invoice"), ("payments", "payment")],
)
def test_topics_belong_to_entities(topic: str, entity: str) -> None:
    assert entity_of(topic) == entity
    assert TOPIC.match(topic)


@pytest.mark.parametrize("topic", ["users", "audit:1", "pr", "prs:", "pr:" + "x" * 65, "pr:a b", ""])
def test_other_topics_are_refused(topic: str) -> None:
    assert not (TOPIC.match(topic) and readable(topic, frozenset({"pr.read", "invoice.read", "payment.read"})))


def test_reading_a_topic_needs_the_entitys_read_permission() -> None:
    assert readable("prs", frozenset({"pr.read"}))
    assert not readable("prs", frozenset({"invoice.read", "pr.write"}))


def test_the_change_message_is_small_and_complete() -> None:
    pr_id = str(uuid.uuid4())
    row = SimpleNamespace(
        id=12345678901,
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 11, 22, 10, 15, tzinfo=UTC),
        entity="pr",
        entity_id=pr_id,
        op="updated",
        version=7,
    )
    seqs = dict.fromkeys(default_topics("pr", pr_id), 2**40)

    message = change_message(row, seqs)

    assert set(message) == {"type", "entity", "id", "version", "op", "at", "eventId", "cursor", "seq"}
    assert (message["type"], message["at"]) == ("change", "2026-11-22T10:15:00Z")
    assert len(json.dumps(message)) < 400 < MAX_FRAME_BYTES
