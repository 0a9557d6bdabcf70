"""Idempotency-Key: a retry gets the first answer; a reused key or a racing duplicate is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from payreq import idempotency
from payreq.db.engine import engine_from_url
from payreq.db.schema import payment_requests

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from support.api_client import ApiResponse
    from support.team import Team

BODY = {"title": "Desks", "payee": "Office Co", "amount": "800.00", "currency": "EUR"}


def create(team: Team, key: str, **body: object) -> ApiResponse:
    flow = [team.step("Manager", "anyof", team.alice)]
    return team.requester.browser.post(
        "/api/v1/prs", json_body={**BODY, "approvalFlow": flow, **body}, headers={"Idempotency-Key": key}
    )


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(payment_requests)) or 0


def test_a_retried_create_answers_the_first_response_and_creates_once(team: Team, engine: Engine) -> None:
    first = create(team, "retry-1")
    again = create(team, "retry-1")

    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body and again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert count(engine) == 1


def test_the_same_key_with_another_body_is_a_422(team: Team, engine: Engine) -> None:
    create(team, "reused")

    response = create(team, "reused", amount="900.00")

    assert (response.status, response.error_code) == (422, "idempotency_key_reused")
    assert count(engine) == 1


def test_a_duplicate_while_the_first_is_in_flight_is_a_409(team: Team, engine: Engine, database_url: str) -> None:
    # Given the first request with this key still running in another container (its transaction holds the key)
    lock = int.from_bytes(idempotency.fingerprint(team.requester.id, "racing")[:8], "big", signed=True)
    other_container = engine_from_url(database_url)
    with other_container.connect() as first, first.begin():
        first.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})

        # When the duplicate arrives
        response = create(team, "racing")
    other_container.dispose()

    # Then it is told to retry, and nothing was created twice
    assert (response.status, response.error_code) == (409, "idempotency_in_progress")
    assert count(engine) == 0


def test_a_failed_request_does_not_burn_its_key(team: Team, engine: Engine) -> None:
    # Given a request that failed (an unknown template), so nothing was stored under its key
    failed = create(
        team, "fix-and-retry", approvalFlowTemplateId="00000000-0000-0000-0000-000000000000", approvalFlow=None
    )

    # When the client corrects it and retries with the same key
    fixed = create(team, "fix-and-retry")

    # Then the corrected request goes through
    assert (failed.status, fixed.status) == (422, 201)
    assert count(engine) == 1


def test_transitions_are_idempotent_too(team: Team) -> None:
    created = create(team, "c-1").body
    path = f"/api/v1/prs/{created['id']}/submit"

    first = team.requester.browser.post(path, headers={"Idempotency-Key": "submit-1"})
    retry = team.requester.browser.post(path, headers={"Idempotency-Key": "submit-1"})

    assert (first.status, retry.status, retry.headers.get("idempotent-replayed")) == (200, 200, "true")
