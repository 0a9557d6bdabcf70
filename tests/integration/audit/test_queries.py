"""Audit and security events through the API: each filter returns exactly the matching events, newest
first, page by page; and only holders of `audit.read` may look (a refusal is itself on record)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from integration.audit.conftest import append
from payreq.db import transaction
from payreq.db.schema import audit_events
from support.api_client import ApiClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

BASE = datetime(2026, 1, 1, tzinfo=UTC)
ACTORS = [uuid.UUID(int=n + 1) for n in range(4)]
IPS = ["192.0.2.1", "192.0.2.2", "198.51.100.7", "2001:db8::9"]
ENTITY_TYPES = ["payment_request", "invoice", "payment"]
SECURITY_KINDS = ["login_succeeded", "login_failed", "logout", "token_issued", "token_revoked", "bad_token"]


@dataclass(frozen=True)
class Logged:
    changes: list[dict[str, Any]]
    security: list[dict[str, Any]]

    @property
    def everything(self) -> list[dict[str, Any]]:
        return [*self.changes, *self.security]


def newest_first(events: list[dict[str, Any]]) -> list[str]:
    return [str(event["event_id"]) for event in sorted(events, key=lambda event: event["seq"], reverse=True)]


def walk(client: ApiClient, path: str, query: dict[str, str] | None = None, *, limit: int = 50) -> list[str]:
    """Every page of a list, following nextCursor; the ids in the order served."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {**(query or {}), "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = client.get(path, query=params)
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= limit
        ids += [item["id"] for item in page.body["items"]]
        cursor = page.body["nextCursor"]
        if cursor is None:
            return ids


@pytest.fixture
def auditor(signed_in: Callable[..., ApiClient]) -> ApiClient:
    return signed_in("auditor@example.com", ("audit.read",))


@pytest.fixture
def logged(engine: Engine, auditor: ApiClient) -> Logged:
    """300 changes and 60 security events, a minute apart, across actors, entities, IPs and requests."""
    changes, security = [], []
    with transaction(engine) as connection:
        for n in range(300):
            entity_type = ENTITY_TYPES[n % 3]
            changes.append(
                append(
                    connection,
                    occurred_at=BASE + timedelta(minutes=n),
                    action=f"{entity_type}.{'created' if n % 4 == 0 else 'updated'}",
                    actor_id=ACTORS[n % 4],
                    entity_type=entity_type,
                    entity_id=f"e{n % 10}",
                    before=None if n % 4 == 0 else {"status": "draft"},
                    after={"status": "pending", "n": n},
                    request_id=f"req-{n // 3}",
                    source_ip=IPS[n % 4],
                )
            )
            if n % 5 == 0:
                security.append(
                    append(
                        connection,
                        occurred_at=BASE + timedelta(minutes=n, seconds=30),
                        category="security",
                        action=SECURITY_KINDS[(n // 5) % len(SECURITY_KINDS)],
                        actor_id=ACTORS[(n // 5) % 4] if n % 2 == 0 else None,
                        entity_type=None,
                        entity_id=None,
                        after={"method": "test_token"},
                        source_ip=IPS[(n // 5) % 4],
                    )
                )
    return Logged(changes, security)


def test_an_entitys_history_is_exactly_its_events_newest_first(auditor: ApiClient, logged: Logged) -> None:
    expected = [e for e in logged.changes if (e["entity_type"], e["entity_id"]) == ("invoice", "e4")]

    served = walk(auditor, "/api/v1/audit-events", {"entityType": "invoice", "entityId": "e4"}, limit=3)

    assert served == newest_first(expected) and len(served) == 10


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"actor": str(ACTORS[1])}, lambda e: e["actor_id"] == ACTORS[1]),
        ({"action": "payment.created"}, lambda e: e["action"] == "payment.created"),
        ({"requestId": "req-42"}, lambda e: e["request_id"] == "req-42"),
        ({"entityType": "payment_request"}, lambda e: e["entity_type"] == "payment_request"),
        (
            # from is inclusive, to exclusive: both fall exactly on events
            {"from": "2026-01-01T01:00:00Z", "to": "2026-01-01T02:00:00Z"},
            lambda e: BASE + timedelta(hours=1) <= e["occurred_at"] < BASE + timedelta(hours=2),
        ),
        (
            {"from": "2026-01-01T03:00:00+02:00", "actor": str(ACTORS[0]), "action": "invoice.created"},
            lambda e: (
                e["occurred_at"] >= BASE + timedelta(hours=1)
                and e["actor_id"] == ACTORS[0]
                and e["action"] == "invoice.created"
            ),
        ),
    ],
    ids=["actor", "action", "request", "entity-type", "time-range", "combined"],
)
def test_each_filter_returns_exactly_the_matching_events(
    auditor: ApiClient, logged: Logged, query: dict[str, str], matches: Callable[[dict[str, Any]], bool]
) -> None:
    expected = newest_first([e for e in logged.everything if matches(e)])
    assert expected, "the fixture must hold matching events"

    assert walk(auditor, "/api/v1/audit-events", query, limit=40) == expected


def test_paging_through_everything_serves_each_event_once_newest_first(
    auditor: ApiClient, logged: Logged, engine: Engine
) -> None:
    with engine.connect() as connection:
        # The fixture's events and the auditor's own sign-in
        everything = connection.scalars(select(audit_events.c.event_id).order_by(audit_events.c.seq.desc())).all()
    assert len(everything) == len(logged.everything) + 2

    served = walk(auditor, "/api/v1/audit-events")

    assert served == [str(event_id) for event_id in everything]


def test_a_page_shows_the_event_as_recorded(auditor: ApiClient, logged: Logged) -> None:
    page = auditor.get("/api/v1/audit-events", query={"requestId": "req-0", "limit": "1"})

    first = logged.changes[2]
    assert page.body["items"] == [
        {
            "id": str(first["event_id"]),
            "seq": first["seq"],
            "occurredAt": "2026-01-01T00:02:00Z",
            "category": "change",
            "action": "payment.updated",
            "actorId": str(ACTORS[2]),
            "entityType": "payment",
            "entityId": "e2",
            "before": {"status": "draft"},
            "after": {"status": "pending", "n": 2},
            "requestId": "req-0",
            "sourceIp": "198.51.100.7",
            "userAgent": "pytest",
            "hash": first["hash"].hex(),
        }
    ]
    assert page.body["nextCursor"] is not None


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"kind": "login_failed"}, lambda e: e["action"] == "login_failed"),
        ({"user": str(ACTORS[2])}, lambda e: e["actor_id"] == ACTORS[2]),
        ({"ip": "2001:db8::9"}, lambda e: e["source_ip"] == "2001:db8::9"),
        (
            {"kind": "token_issued", "ip": IPS[3], "to": "2026-01-01T03:00:00Z"},
            lambda e: (
                e["action"] == "token_issued"
                and e["source_ip"] == IPS[3]
                and e["occurred_at"] < BASE + timedelta(hours=3)
            ),
        ),
    ],
    ids=["kind", "user", "ip", "combined"],
)
def test_security_events_filter_by_user_ip_and_kind(
    auditor: ApiClient, logged: Logged, query: dict[str, str], matches: Callable[[dict[str, Any]], bool]
) -> None:
    expected = newest_first([e for e in logged.security if matches(e)])
    assert expected, "the fixture must hold matching events"

    assert walk(auditor, "/api/v1/security-events", query, limit=4) == expected


def test_security_events_are_only_security_events(auditor: ApiClient, logged: Logged) -> None:
    page = auditor.get("/api/v1/security-events", query={"limit": "200"})

    # The fixture's and the auditor's own sign-in (test_login); not user.created, a change
    assert len(page.body["items"]) == len(logged.security) + 1
    oldest = page.body["items"][-1]
    assert (oldest["action"], oldest["details"]["method"]) == ("test_login", "test_token")
    assert set(oldest) == {
        "id",
        "seq",
        "occurredAt",
        "action",
        "userId",
        "details",
        "sourceIp",
        "userAgent",
        "requestId",
        "hash",
    }


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/audit-events", {"limit": "201"}),
        ("/api/v1/audit-events", {"limit": "0"}),
        ("/api/v1/audit-events", {"cursor": "not-a-cursor"}),
        ("/api/v1/audit-events", {"cursor": "WyJ4Il0"}),  # ["x"]: a cursor, but not ours
        ("/api/v1/audit-events", {"actor": "someone"}),
        ("/api/v1/audit-events", {"from": "2026-01-01T00:00:00"}),  # no time zone
        ("/api/v1/audit-events", {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        ("/api/v1/security-events", {"kind": "coffee_break"}),
    ],
    ids=[
        "limit-too-big",
        "limit-zero",
        "garbled-cursor",
        "foreign-cursor",
        "bad-actor",
        "naive-time",
        "backwards",
        "kind",
    ],
)
def test_malformed_queries_are_refused(auditor: ApiClient, path: str, query: dict[str, str]) -> None:
    response = auditor.get(path, query=query)

    assert (response.status, response.error_code) == (422, "validation_error")


@pytest.mark.parametrize("path", ["/api/v1/audit-events", "/api/v1/security-events", "/api/v1/audit-events/verify"])
def test_without_audit_read_the_log_is_refused_and_the_refusal_logged(
    signed_in: Callable[..., ApiClient], engine: Engine, path: str
) -> None:
    # Given a signed-in user who holds other permissions, but not audit.read
    clerk = signed_in("clerk@example.com", ("pr.read", "pr.write"))

    # When they ask for the audit log
    response = clerk.get(path)

    # Then they are refused, and the refusal is the newest security event
    assert (response.status, response.error_code) == (403, "forbidden")
    with engine.connect() as connection:
        newest = connection.execute(select(audit_events).order_by(audit_events.c.seq.desc()).limit(1)).mappings().one()
    assert (newest["category"], newest["action"]) == ("security", "access_denied")
    details = {key: newest["after"][key] for key in ("permission", "reason", "route", "count")}
    assert details == {"permission": "audit.read", "reason": "missing_permission", "route": f"GET {path}", "count": 1}
    assert newest["actor_id"] is not None


def test_without_a_credential_the_log_is_refused(database_url: str) -> None:
    response = ApiClient().get("/api/v1/audit-events")

    assert (response.status, response.error_code) == (401, "unauthenticated")
