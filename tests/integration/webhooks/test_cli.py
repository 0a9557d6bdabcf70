"""`payreq webhooks ...`: an operator finds a subscription disabled after a receiver's outage,
reads what failed, enables it again and replays what was given up, all audited as the operator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from integration.webhooks.conftest import subscribe
from payreq_cli import main as payreq

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest
    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient
    from support.webhook_receiver import Receiver


def test_an_operator_recovers_a_subscription_a_dead_receiver_disabled(
    ops: ApiClient,
    receiver: Receiver,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a receiver that failed every attempt until its subscription was disabled
    receiver.answers = [500] * 20
    subscription = subscribe(ops, receiver.url)["id"]
    raise_pr("First")
    raise_pr("Second")
    for _ in range(8):
        run_deliverer()
    assert ops.get(f"/api/v1/webhooks/{subscription}").body["enabled"] is False

    # When the operator lists the subscriptions and the failed deliveries
    assert payreq(["webhooks", "list"]) == 0
    listed = capsys.readouterr().out
    assert payreq(["webhooks", "deliveries", subscription, "--status", "failed"]) == 0
    failed_lines = capsys.readouterr().out.strip().splitlines()

    # Then they see it disabled, and which deliveries failed with what answer
    assert f"{subscription}  DISABLED  {receiver.url}" in listed
    assert len(failed_lines) == 2 and all("failed" in line and "HTTP 500" in line for line in failed_lines)

    # When the receiver is back, and the operator enables the subscription and replays what failed
    outage = len(receiver.received)
    receiver.answers = [500] * outage + [204]
    assert payreq(["webhooks", "enable", subscription]) == 0
    assert payreq(["webhooks", "replay-failed", subscription]) == 0
    assert capsys.readouterr().out.count("replaying ") == 2
    run_deliverer()

    # Then both messages arrive, in their original order, with their original ids
    after_outage = receiver.received[outage:]
    assert [message.json["data"]["object"]["title"] for message in after_outage] == ["First", "Second"]
    first_tries = {
        message.json["data"]["object"]["title"]: message.headers["webhook-id"] for message in receiver.received[:outage]
    }
    assert [message.headers["webhook-id"] for message in after_outage] == [first_tries["First"], first_tries["Second"]]
    # And the operator's changes are in the audit log under their name
    with engine.connect() as connection:
        actions = connection.scalars(
            text("SELECT action FROM audit_events WHERE user_agent LIKE 'payreq-cli (webhooks %' ORDER BY seq")
        ).all()
    assert actions == ["webhook.enabled", "webhook.delivery_replayed", "webhook.delivery_replayed"]


def test_an_unknown_subscription_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], kms: Any) -> None:
    assert payreq(["webhooks", "deliveries", "00000000-0000-4000-8000-000000000000"]) == 1
    assert capsys.readouterr().err.strip() == "payreq: error: No webhook subscription with this id."
