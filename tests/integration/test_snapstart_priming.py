"""SnapStart priming: before the snapshot, each read by id is served once for a record that exists,
so a restored copy's first read of one has nothing left to build, and priming changes nothing."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from sqlalchemy import func, select

from payreq import snapstart
from payreq.db import get_engine
from payreq.db.schema import audit_events, outbox
from support.team import Team, submitted


def test_priming_reads_a_record_its_collection_lists_and_writes_nothing(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a payment request in the database, and the PR function not yet primed
    from pr_api.handler import app

    pr_id = submitted(team.requester, [team.step("Managers", "anyof", team.alice)])
    served: dict[str, int] = {}
    serve = snapstart._serve

    def recorded(*args: Any, **kwargs: Any) -> dict[str, Any]:
        response = serve(*args, **kwargs)
        served[args[1]] = response["statusCode"]
        return response

    monkeypatch.setattr(snapstart, "_serve", recorded)
    monkeypatch.setattr(snapstart, "database_answers", lambda: True)
    written = _rows_written()

    # When the function is primed before the snapshot
    snapstart.prime_routes(app)

    # Then the request was read by its id as a real request would read it, and nothing was written
    assert served[f"/api/v1/prs/{pr_id}"] == 200
    assert served[f"/api/v1/prs/{snapstart.NOBODY}"] == 404
    assert _rows_written() == written


@pytest.mark.parametrize("handler", ["audit_api", "auth_api", "invoice_api", "payment_api", "sync_api", "webhooks_api"])
def test_priming_any_function_writes_nothing(team: Team, handler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a request raised and submitted (so collections such as the audit trail list something)
    submitted(team.requester, [team.step("Managers", "anyof", team.alice)])
    monkeypatch.setattr(snapstart, "database_answers", lambda: True)
    written = _rows_written()

    # When the function is primed before the snapshot
    snapstart.prime_routes(importlib.import_module(f"{handler}.handler").app)

    # Then nothing was written: no audit event, no outbox row
    assert _rows_written() == written


def _rows_written() -> tuple[int, int]:
    with get_engine().connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(audit_events)) or 0,
            connection.scalar(select(func.count()).select_from(outbox)) or 0,
        )
