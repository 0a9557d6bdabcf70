"""The flows that call AWS, run through the local stack where each function may call only what its
role in the template allows (`payreq_local/iam.py`): a permission the template forgot fails here.

The payment-request walk and the invoice upload in test_flows.py cover the sync queue and S3 reads;
these cover KMS and the webhook queue (webhooks), the anchor bucket (audit), closing a socket at
the management API (the broadcaster's sweep), and the hourly purge (the database alone).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import httpx
from standardwebhooks import Webhook
from websockets.asyncio.client import connect

from e2e.test_flows import sign_in, wait_until
from support.webhook_receiver import Receiver

if TYPE_CHECKING:
    from support.local_stack import LocalStack


def _run_schedule(stack: LocalStack, function: str) -> None:
    response = httpx.post(f"{stack.api_url}/_local/schedules/{function}", timeout=30)
    assert response.status_code < 300, response.text


def test_a_webhook_is_sealed_delivered_signed_and_replayed_with_the_roles_the_template_gives(
    stack: LocalStack,
) -> None:
    # Given a receiver subscribed to payment requests (the secret is sealed with KMS: Encrypt)
    receiver = Receiver().start()
    try:
        ops = sign_in(stack, "ops@example.com", ["webhooks.manage"])
        rita = sign_in(stack, "rita@example.com", ["pr.read", "pr.write"])
        bob = sign_in(stack, "bob@example.com", ["pr.read", "pr.approve"])
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            bob_id = client.get("/api/v1/me", headers=bob).json()["id"]
            subscribed = client.post(
                "/api/v1/webhooks", headers=ops, json={"url": receiver.url, "eventTypes": ["pr.*"]}
            )
            assert subscribed.status_code == 201, subscribed.text
            subscription = subscribed.json()

            # When a payment request is raised and the deliverer runs (KMS: Decrypt)
            created = client.post(
                "/api/v1/prs",
                headers=rita,
                json={
                    "title": "Desks",
                    "payee": "ACME",
                    "amount": "120.00",
                    "currency": "GBP",
                    "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [bob_id]}],
                },
            )
            assert created.status_code == 201, created.text
            _run_schedule(stack, "WebhookDelivererFunction")
            wait_until(lambda: receiver.received, timeout=30)
            first = receiver.received[0]

            # And the operator replays the delivery (the webhook queue: SendMessage)
            deliveries = client.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=ops).json()
            replayed = client.post(
                f"/api/v1/webhooks/{subscription['id']}/deliveries/{deliveries['items'][0]['id']}/replay", headers=ops
            )
            assert replayed.status_code < 300, replayed.text
            wait_until(lambda: len(receiver.received) >= 2, timeout=30)
    finally:
        receiver.stop()

    # Then the receiver got the change, signed with the secret it was shown, and the same message again
    payload = Webhook(subscription["secret"]).verify(first.body, first.headers)
    assert (payload["type"], payload["data"]["id"]) == ("pr.created", created.json()["id"])
    assert receiver.received[1].headers["webhook-id"] == first.headers["webhook-id"]


def test_the_audit_chain_is_anchored_in_s3_and_verified_against_the_anchor(stack: LocalStack) -> None:
    # Given something audited
    auditor = sign_in(stack, "audrey@example.com", ["audit.read"])

    # When the anchor schedule runs (the anchor bucket: PutObject under anchors/)
    _run_schedule(stack, "AuditAnchorFunction")

    # Then verification lists the anchors (ListBucket) and finds the chain's head matching one
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        verified = client.get("/api/v1/audit-events/verify", headers=auditor)
    assert verified.status_code == 200, verified.text
    assert verified.json()["intact"] is True
    assert verified.json()["anchor"]["status"] == "matches"


def test_the_hourly_purge_runs_as_its_own_function_with_its_own_role(stack: LocalStack) -> None:
    # Given the stack as deployed, with nothing expired yet
    # When the purge's schedule runs
    response = httpx.post(f"{stack.api_url}/_local/schedules/PurgeExpiredFunction", timeout=30)

    # Then it went through every table to the end, and found nothing to delete
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["finished"] is True
    assert set(result["deleted"]) == {"idempotency_keys", "pending_sign_ins", "ended_sessions", "live_sync_deliveries"}
    assert not any(result["deleted"].values())


def test_signing_out_closes_the_browsers_live_socket(stack: LocalStack) -> None:
    # Given a browser with a live socket on payment requests
    tess = sign_in(stack, "tess@example.com", ["pr.read"])

    async def signed_out_elsewhere() -> int | None:
        async with connect(stack.websocket_url, additional_headers={"Cookie": tess["Cookie"]}) as socket:
            await socket.send(json.dumps({"action": "subscribe", "topics": ["prs"]}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "subscribed"
            # When the session signs out (another tab) and the broadcaster's sweep runs
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
                assert (await client.post("/auth/logout", headers=tess)).status_code == 204
                swept = await client.post("/_local/schedules/BroadcasterFunction")
                assert swept.status_code < 300, swept.text
            # Then the server closes the socket (the page learns it is signed out, not merely quiet)
            await asyncio.wait_for(socket.wait_closed(), 15)
            return socket.close_code

    assert asyncio.run(signed_out_elsewhere()) is not None
