"""The audit chain's canonical form: well defined, and stable under the database's normalisation."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from payreq.audit import changed_fields
from payreq.audit_anchors import AnchorCheck, AnchoredHead, anchor_key
from payreq.audit_chain import GENESIS, BrokenLink, ChainReport, canonical_event, link_hash, stored_json
from payreq.jsonable import REDACTED
from payreq_cli.audit import ChainBroken, describe

EVENT_ID = uuid.UUID("5967ed53-f262-4b63-9b9d-10b8e8d0cf02")
OCCURRED_AT = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
EVENT = {
    "event_id": EVENT_ID,
    "occurred_at": OCCURRED_AT,
    "category": "change",
    "action": "pr.updated",
    "actor_id": None,
    "entity_type": "pr",
    "entity_id": "7",
    "before": {"amount": "1.00"},
    "after": {"amount": "2.00", "note": "Zoë"},
    "request_id": "req-1",
    "source_ip": "192.0.2.1",
    "user_agent": "curl/8",
}


def test_the_canonical_form_is_sorted_compact_utf8_json_of_the_hashed_fields() -> None:
    assert (
        canonical_event(EVENT)
        == (
            '{"action":"pr.updated","actor_id":null,"after":{"amount":"2.00","note":"Zoë"},"before":{"amount":"1.00"},'
            '"category":"change","entity_id":"7","entity_type":"pr","event_id":"5967ed53-f262-4b63-9b9d-10b8e8d0cf02",'
            '"occurred_at":"2026-11-22T10:15:00.000000Z","request_id":"req-1","source_ip":"192.0.2.1","user_agent":"curl/8"}'
        ).encode()
    )


def test_columns_outside_the_hashed_fields_do_not_count() -> None:
    as_read_back = {**EVENT, "id": 41, "seq": 7, "hash": b"\x01" * 32}

    assert canonical_event(as_read_back) == canonical_event(EVENT)


def test_a_timestamp_hashes_the_same_in_any_time_zone() -> None:
    in_paris = OCCURRED_AT.astimezone(timezone(timedelta(hours=1)))

    assert canonical_event({**EVENT, "occurred_at": in_paris}) == canonical_event(EVENT)


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_event({**EVENT, "occurred_at": datetime(2026, 11, 22, 10, 15)})


def test_the_first_link_hashes_over_32_zero_bytes() -> None:
    assert link_hash(GENESIS, EVENT) == hashlib.sha256(bytes(32) + canonical_event(EVENT)).digest()


@pytest.mark.parametrize(
    ("value", "as_postgres_gives_it_back"),
    [
        (1e20, 100000000000000000000),
        (1.5e-7, 1.5e-7),
        (-0.0, 0.0),
        (0.1, 0.1),
        (2.0, 2.0),
        ({3: "x"}, {"3": "x"}),
        ([1, None, True, "s"], [1, None, True, "s"]),
    ],
)
def test_stored_json_is_what_jsonb_gives_back(value: object, as_postgres_gives_it_back: object) -> None:
    normalised = stored_json(value)

    assert normalised == as_postgres_gives_it_back
    assert type(normalised) is type(as_postgres_gives_it_back)
    assert stored_json(normalised) == normalised  # and normalising again changes nothing


def test_non_finite_numbers_are_refused_before_they_reach_the_log() -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        stored_json({"ratio": float("nan")})


def test_a_changed_secret_shows_as_changed_without_its_value() -> None:
    old, new = changed_fields({"label": "Main", "card_number": "4111"}, {"label": "Main", "card_number": "4000"})

    assert (old, new) == ({"card_number": REDACTED}, {"card_number": REDACTED})


def test_the_command_line_names_the_first_broken_row_in_one_line() -> None:
    link = BrokenLink(row_id=812, seq=37, event_id=str(EVENT_ID), reason="hash_mismatch", expected_seq=37)

    with pytest.raises(ChainBroken) as broken:
        describe(
            ChainReport(checked=36, head_seq=36, head_hash=b"\x00" * 32, first_broken=link),
            AnchorCheck("unanchored", None),
            anchor_bucket=None,
        )

    message = str(broken.value)
    assert message.startswith(f"audit chain broken at row id 812 (seq 37, event {EVENT_ID}): ")
    assert message.endswith("; 36 events verified before it") and "\n" not in message


def test_the_command_line_names_a_truncated_tail_in_one_line() -> None:
    anchored = AnchoredHead(anchor_key(40, "ab" * 32), 40, "ab" * 32)

    with pytest.raises(ChainBroken) as broken:
        describe(
            ChainReport(checked=36, head_seq=36, head_hash=b"\x00" * 32, first_broken=None),
            AnchorCheck("truncated", anchored),
            anchor_bucket="anchors",
        )

    assert str(broken.value) == (
        "audit chain truncated: the latest anchor is at seq 40, which the chain no longer holds; 36 events verified"
    )


def test_an_anchor_key_says_what_was_anchored() -> None:
    key = anchor_key(22, "0f" * 32)

    assert key == f"anchors/00000000000000000022-{'0f' * 32}.json"
    assert AnchoredHead.from_key(key) == AnchoredHead(key, 22, "0f" * 32)
    assert AnchoredHead.from_key("anchors/latest.json") is None
