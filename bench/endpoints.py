"""The requests measured: real-shaped API Gateway events, as the authorizer leaves them, built by
the tests' own event builder (`tests/support/events.py`, which loads `events/*.json`)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench import system  # noqa: F401  (puts tests/ and local/ on sys.path)
from payreq_local.events import sqs_event
from support.events import http_event, load_event

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bench.dataset import Dataset, Person

NEW_REQUEST = {"title": "Monitors", "payee": "ACME GmbH", "amount": "480.00", "currency": "EUR"}


def as_user(person: Person, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    return http_event(method, path, user_id=person.id, permissions=person.permissions, **kwargs)


def get_pr(data: Dataset) -> dict[str, Any]:
    return as_user(data.alice, "GET", f"/api/v1/prs/{data.showcase}", route_key="GET /api/v1/prs/{id}")


def list_prs(data: Dataset, limit: int = 50) -> dict[str, Any]:
    return as_user(data.alice, "GET", "/api/v1/prs", query={"limit": str(limit)})


def list_invoices(data: Dataset, limit: int = 50) -> dict[str, Any]:
    return as_user(data.carol, "GET", "/api/v1/invoices", query={"limit": str(limit)})


def create_pr(data: Dataset) -> dict[str, Any]:
    flow = [{"name": "Manager", "mode": "anyof", "approvers": [str(data.bob.id)]}]
    return as_user(data.alice, "POST", "/api/v1/prs", body={**NEW_REQUEST, "approvalFlow": flow})


def approve(
    data: Dataset, pr_id: uuid.UUID, approver: Person | None = None, *, read_version: int = 2
) -> dict[str, Any]:
    """An approval on the version the approver read: by default the one submit left (2)."""
    return as_user(
        approver or data.bob,
        "POST",
        f"/api/v1/prs/{pr_id}/approve",
        body={"comment": "Approved."},
        headers={"If-Match": f'"{read_version}"'},
        route_key="POST /api/v1/prs/{id}/approve",
    )


def repeated(event: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return [copy.deepcopy(event) for _ in range(count)]


def first_requests(engine: Engine, data: Dataset) -> dict[str, dict[str, Any]]:
    """Each function's first request after a cold start: a real one, against real data."""
    return {
        "PrFunction": get_pr(data),
        "InvoiceFunction": as_user(data.carol, "GET", f"/api/v1/invoices/{data.invoices[0]}"),
        "PaymentFunction": as_user(data.carol, "GET", "/api/v1/payments", query={"limit": "20"}),
        "AuthFunction": as_user(data.alice, "GET", "/api/v1/me"),
        "AuthorizerFunction": authorizer_request(engine, data),
        "AuditFunction": as_user(data.carol, "GET", "/api/v1/audit-events", query={"limit": "20"}),
        "SyncFunction": as_user(data.alice, "GET", "/api/v1/sync/changes"),
        "BroadcasterFunction": sqs_event(
            [{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "bench", "Body": '{"outbox": true}'}],
            queue_arn="arn:aws:sqs:us-east-1:123456789012:payreq-local-sync",
            region="us-east-1",
        ),
    }


def authorizer_request(engine: Engine, data: Dataset) -> dict[str, Any]:
    """The authorizer's event for a CLI call with alice's API token (a real, hashed, stored one)."""
    from auth_api.api_tokens import issue
    from auth_api.models import NewApiToken
    from payreq.db import transaction

    with transaction(engine) as connection:
        _, secret = issue(
            connection,
            data.alice.context(),
            NewApiToken.model_validate({"name": "bench", "scopes": ["pr.read"]}),
            now=datetime.now(UTC),
        )
    event = load_event("authorizer_request")
    event["headers"]["authorization"] = f"Bearer {secret}"
    event["identitySource"] = [f"Bearer {secret}"]
    event.pop("cookies", None)
    return event
