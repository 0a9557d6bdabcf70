"""`GET /api/v1/audit-events/verify`: the chain's state as an auditor sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from integration.audit.conftest import append, tamper
from payreq.db import transaction
from payreq.db.schema import audit_events

if TYPE_CHECKING:
    from collections.abc import Callable

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
    assert answer.body == {"intact": True, "checked": 22, "headSeq": 22, "headHash": head.hex(), "firstBroken": None}


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
