"""Exporting a time range of the audit log: CSV or JSON Lines, whole, bounded, and itself on record."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from audit_api import export, handler
from integration.audit.conftest import append
from payreq.db import transaction
from payreq.db.schema import audit_events
from support.events import http_event
from support.factories import insert_user
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.engine import Engine

BASE = datetime(2026, 3, 1, tzinfo=UTC)
RANGE = {"from": "2026-03-01T00:10:00Z", "to": "2026-03-01T00:20:00Z"}


@pytest.fixture
def auditor(engine: Engine) -> uuid.UUID:
    with transaction(engine) as connection:
        return insert_user(connection, email="auditor@example.com", permissions=("audit.read",))


@pytest.fixture
def thirty_events(engine: Engine) -> list[dict[str, Any]]:
    """One event a minute from BASE; the 12th comes from a caller whose user agent is a formula."""
    with transaction(engine) as connection:
        return [
            append(
                connection,
                occurred_at=BASE + timedelta(minutes=n),
                entity_id=f"pr-{n}",
                before={"amount": "10.00"} if n % 2 else None,
                after={"amount": f"{n}.00", "note": 'ünï, "quoted"\nnew line'},
                user_agent='=HYPERLINK("http://evil.example")' if n == 12 else "pytest",
            )
            for n in range(30)
        ]


def get_export(
    user_id: uuid.UUID,
    query: dict[str, str],
    permissions: tuple[str, ...] = ("audit.read",),
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = http_event(
        "GET", "/api/v1/audit-events/export", query=query, user_id=user_id, permissions=permissions, headers=headers
    )
    return handler.lambda_handler(event, FakeLambdaContext())


def test_a_csv_export_holds_exactly_the_range_oldest_first(
    auditor: uuid.UUID, thirty_events: list[dict[str, Any]]
) -> None:
    response = get_export(auditor, {**RANGE, "format": "csv"})

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert response["headers"]["Content-Disposition"] == (
        'attachment; filename="audit-events-20260301T001000Z-20260301T002000Z.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response["body"])))
    assert [row["entityId"] for row in rows] == [f"pr-{n}" for n in range(10, 20)]
    eleventh = rows[1]
    assert eleventh["id"] == str(thirty_events[11]["event_id"])
    assert json.loads(eleventh["before"]) == {"amount": "10.00"}
    assert json.loads(eleventh["after"]) == {"amount": "11.00", "note": 'ünï, "quoted"\nnew line'}
    assert eleventh["hash"] == thirty_events[11]["hash"].hex()
    # A formula from a caller is defused for spreadsheets
    assert rows[2]["userAgent"] == '\'=HYPERLINK("http://evil.example")'


def test_a_json_lines_export_is_the_events_as_the_api_shows_them(
    auditor: uuid.UUID, thirty_events: list[dict[str, Any]]
) -> None:
    response = get_export(auditor, {**RANGE, "format": "jsonl"})

    assert response["headers"]["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response["body"].splitlines()]
    assert [line["seq"] for line in lines] == [event["seq"] for event in thirty_events[10:20]]
    assert lines[2]["userAgent"] == '=HYPERLINK("http://evil.example")'  # JSON Lines is faithful


def test_the_chain_verifies_from_an_export_alone(auditor: uuid.UUID, thirty_events: list[dict[str, Any]]) -> None:
    """The canonical form as docs/deploy.md describes it, implemented here without payreq's help."""
    response = get_export(auditor, {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z", "format": "jsonl"})
    previous = bytes(32)
    for line in response["body"].splitlines():
        event = json.loads(line)
        occurred = datetime.fromisoformat(event["occurredAt"]).astimezone(UTC)
        hashed = {
            "event_id": event["id"],
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            **{name: event[camel] for name, camel in _SAME_FIELDS.items()},
        }
        canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(previous + canonical).hexdigest() == event["hash"], event["seq"]
        previous = bytes.fromhex(event["hash"])


_SAME_FIELDS = {
    "category": "category",
    "action": "action",
    "actor_id": "actorId",
    "entity_type": "entityType",
    "entity_id": "entityId",
    "before": "before",
    "after": "after",
    "request_id": "requestId",
    "source_ip": "sourceIp",
    "user_agent": "userAgent",
}


def test_an_export_is_itself_on_record(auditor: uuid.UUID, engine: Engine, thirty_events: list[dict[str, Any]]) -> None:
    get_export(auditor, {**RANGE, "format": "jsonl"})

    with engine.connect() as connection:
        newest = connection.execute(select(audit_events).order_by(audit_events.c.seq.desc()).limit(1)).mappings().one()
    assert (newest["action"], newest["actor_id"]) == ("audit_exported", auditor)
    assert newest["after"] == {
        "from": "2026-03-01T00:10:00+00:00",
        "to": "2026-03-01T00:20:00+00:00",
        "format": "jsonl",
        "events": 10,
    }


def test_a_range_beyond_the_cap_is_refused_with_a_request_to_narrow_it(
    auditor: uuid.UUID, engine: Engine, thirty_events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "EXPORT_MAX_ROWS", 9)

    response = get_export(auditor, RANGE)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["error"]["code"]) == (422, "export_too_large")
    assert "narrower range" in body["error"]["message"]
    assert "at most 9 events" in body["error"]["details"][0]["message"]
    with engine.connect() as connection:
        actions = connection.scalars(select(audit_events.c.action)).all()
    assert "audit_exported" not in actions  # nothing was handed out


def test_a_large_export_is_compressed_for_clients_that_accept_gzip(
    auditor: uuid.UUID, thirty_events: list[dict[str, Any]]
) -> None:
    plain = get_export(auditor, {**RANGE, "format": "jsonl"})
    zipped = get_export(auditor, {**RANGE, "format": "jsonl"}, headers={"Accept-Encoding": "gzip"})

    assert zipped["isBase64Encoded"] is True
    assert zipped["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(base64.b64decode(zipped["body"])).decode() == plain["body"]


@pytest.mark.parametrize(
    "query",
    [
        {"to": "2026-03-01T00:20:00Z"},
        {"from": "2026-03-01T00:10:00Z"},
        {**RANGE, "format": "xml"},
        {"from": RANGE["to"], "to": RANGE["from"]},
    ],
    ids=["no-from", "no-to", "unknown-format", "backwards"],
)
def test_an_export_needs_a_range_and_a_known_format(auditor: uuid.UUID, query: dict[str, str]) -> None:
    response = get_export(auditor, query)

    assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (422, "validation_error")


def test_without_audit_read_there_is_no_export(auditor: uuid.UUID, thirty_events: list[dict[str, Any]]) -> None:
    response = get_export(auditor, RANGE, permissions=("pr.read",))

    assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (403, "forbidden")
