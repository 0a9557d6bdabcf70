"""Webhooks under test: KMS (moto) for the signing secrets, receivers on loopback that answer as
told and keep what they received, and the deliverer run as its schedule would run it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from webhooks_api import deliverer, dependencies

from support.lambda_context import FakeLambdaContext
from support.team import APPROVER, REQUESTER, Member
from support.webhook_receiver import Receiver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from support.api_client import ApiClient

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Any]:
    """KMS in moto, with the key the template would create, and the deliverer's settings for tests:
    receivers on loopback allowed, retries at once (the schedule itself is not what is tested)."""
    with mock_aws():
        client = boto3.client("kms", region_name="us-east-1")
        key_id = client.create_key(Description="webhook signing secrets")["KeyMetadata"]["KeyId"]
        monkeypatch.setenv("PAYREQ_WEBHOOK_KEY_ID", key_id)
        monkeypatch.setenv("PAYREQ_WEBHOOK_LOCAL_RECEIVERS", "127.0.0.0/8")
        monkeypatch.setenv("PAYREQ_WEBHOOK_RETRY_SECONDS", "0 0")
        monkeypatch.setenv("PAYREQ_WEBHOOK_DISABLE_AFTER", "2")
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def ops(signed_in: Callable[..., ApiClient], kms: Any) -> ApiClient:
    """Someone who manages webhooks (and nothing else)."""
    return signed_in("ops@example.com", ("webhooks.manage",))


@pytest.fixture
def requester(signed_in: Callable[..., ApiClient]) -> Member:
    browser = signed_in("rita@example.com", REQUESTER)
    return Member(browser, browser.get("/api/v1/me").body["id"])


@pytest.fixture
def approver(signed_in: Callable[..., ApiClient]) -> Member:
    browser = signed_in("alice@example.com", APPROVER)
    return Member(browser, browser.get("/api/v1/me").body["id"])


@pytest.fixture
def raise_pr(requester: Member, approver: Member) -> Callable[..., str]:
    """A draft payment request raised by the requester (one change in the outbox: `pr.created`)."""

    def raise_one(title: str = "Laptops") -> str:
        created = requester.browser.post(
            "/api/v1/prs",
            json_body={
                "title": title,
                "payee": "ACME GmbH",
                "amount": "1250.00",
                "currency": "EUR",
                "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [approver.id]}],
            },
        )
        assert created.status == 201, created.body
        return str(created.body["id"])

    return raise_one


@pytest.fixture
def run_deliverer() -> Callable[[], dict[str, Any]]:
    """One pass of the deliverer, as its one-minute schedule runs it."""

    def run() -> dict[str, Any]:
        return deliverer.lambda_handler(SCHEDULED, FakeLambdaContext("payreq-webhook-deliverer"))

    return run


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the resolver answers, as a DNS server would: tests fill it in (and change it)."""
    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"{host}: Name or service not known")
        return answers[host]

    monkeypatch.setattr(dependencies, "resolve", resolve)
    return answers


def subscribe(ops: ApiClient, url: str, *event_types: str) -> dict[str, Any]:
    created = ops.post("/api/v1/webhooks", json_body={"url": url, "eventTypes": list(event_types or ("pr.*",))})
    assert created.status == 201, created.body
    return created.body  # type: ignore[no-any-return]
