"""The product's main walk through the local stack, over real sockets: sign in, raise a payment
request, submit it, have a second person approve it while the requester's browser hears every
change on its WebSocket, then upload an invoice attachment that the S3 trigger parses.

Sign-in and payment requests have landed; live sync and invoices land with their own issues, and
until then their tests are the intended code, skipped.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
from websockets.asyncio.client import connect

if TYPE_CHECKING:
    from support.local_stack import LocalStack


def sign_in(stack: LocalStack, email: str, permissions: list[str]) -> dict[str, str]:
    """Test-token login; the headers a browser would then send (its session cookie, our CSRF header)."""
    return {"Cookie": stack.session_cookie(email, permissions), "X-Requested-With": "payreq-e2e"}


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout}s")


def test_test_login_gives_a_session_the_authorizer_accepts(stack: LocalStack) -> None:
    headers = sign_in(stack, "alice@example.com", ["pr.read", "pr.write"])

    me = httpx.get(f"{stack.api_url}/api/v1/me", headers=headers, timeout=30)

    assert me.status_code == 200, me.text
    assert me.json()["email"] == "alice@example.com"
    assert httpx.get(f"{stack.api_url}/api/v1/me", timeout=30).status_code == 401


def test_a_payment_request_is_raised_submitted_and_approved_by_a_second_person(stack: LocalStack) -> None:
    # Given a requester and an approver, each signed in over real HTTP
    alice = sign_in(stack, "alice@example.com", ["pr.read", "pr.write"])
    bob = sign_in(stack, "bob@example.com", ["pr.read", "pr.approve"])
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        bob_id = client.get("/api/v1/me", headers=bob).json()["id"]

        # When alice raises and submits a request and bob approves it
        created = client.post(
            "/api/v1/prs",
            headers=alice,
            json={
                "title": "Laptops for the new team",
                "payee": "ACME Hardware",
                "amount": "1250.00",
                "currency": "EUR",
                "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [bob_id]}],
            },
        )
        assert created.status_code == 201, created.text
        pr_id = created.json()["id"]
        submitted = client.post(f"/api/v1/prs/{pr_id}/submit", headers=alice)
        # Each decides on the version they read: its ETag goes back in If-Match.
        read = {"If-Match": submitted.headers["etag"]}
        own = client.post(f"/api/v1/prs/{pr_id}/approve", headers={**alice, **read}, json={})
        approved = client.post(f"/api/v1/prs/{pr_id}/approve", headers={**bob, **read}, json={"comment": "Go ahead"})

    # Then it is approved by bob, and alice could not approve her own request
    assert submitted.json()["status"] == "pending"
    assert own.status_code == 403
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["steps"][0]["approvals"][0]["comment"]) == ("approved", "Go ahead")
    assert approved.headers["etag"] == f'"{body["version"]}"'


def test_a_payment_request_is_approved_and_the_requester_hears_every_change(stack: LocalStack) -> None:
    alice = sign_in(stack, "alice@example.com", ["pr.read", "pr.write"])
    bob = sign_in(stack, "bob@example.com", ["pr.read", "pr.approve"])
    bob_id = httpx.get(f"{stack.api_url}/api/v1/me", headers=bob, timeout=30).json()["id"]

    async def walk() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with connect(stack.websocket_url, additional_headers={"Cookie": alice["Cookie"]}) as socket:
            await socket.send(json.dumps({"action": "subscribe", "topics": ["prs"]}))
            subscribed = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert (subscribed["type"], subscribed["topics"]) == ("subscribed", ["prs"]), subscribed
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
                created = await client.post(
                    "/api/v1/prs",
                    headers=alice,
                    json={
                        "title": "Laptops for the new team",
                        "payee": "ACME Hardware",
                        "amount": "1250.00",
                        "currency": "EUR",
                        "approvalFlow": [{"name": "Manager", "mode": "anyof", "approvers": [bob_id]}],
                    },
                )
                assert created.status_code == 201, created.text
                pr = created.json()
                submitted = await client.post(f"/api/v1/prs/{pr['id']}/submit", headers=alice)
                assert submitted.json()["status"] == "pending"
                read = {"If-Match": submitted.headers["etag"]}
                approved = await client.post(f"/api/v1/prs/{pr['id']}/approve", headers={**bob, **read}, json={})
                assert approved.status_code == 200, approved.text
            events: list[dict[str, Any]] = []
            # Other requests' changes arrive on the `prs` topic too: wait for this one's three.
            done = approved.json()
            while sum(e.get("type") == "change" and e["id"] == done["id"] for e in events) < 3:
                events.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
            return approved.json(), events

    approved, events = asyncio.run(walk())

    assert approved["status"] == "approved"
    mine = [e for e in events if e["type"] == "change" and e["entity"] == "pr" and e["id"] == approved["id"]]
    assert [e["op"] for e in mine] == ["created", "updated", "updated"]
    assert [e["version"] for e in mine] == sorted(e["version"] for e in mine)
    assert len({e["eventId"] for e in mine}) == len(mine)
    # The collection topic's sequence numbers have no gaps
    assert [e["seq"]["prs"] for e in mine] == list(range(mine[0]["seq"]["prs"], mine[0]["seq"]["prs"] + 3))


def test_an_uploaded_attachment_is_parsed_into_the_invoice(stack: LocalStack) -> None:
    from unit.invoice_pdfs import ruled_table

    pdf = ruled_table().pdf
    alice = sign_in(stack, "alice@example.com", ["invoice.read", "invoice.write"])
    with httpx.Client(base_url=stack.api_url, headers=alice, timeout=30) as client:
        created = client.post(
            "/api/v1/invoices", json={"number": "INV-2026-0042", "vendor": "ACME Hardware", "currency": "GBP"}
        )
        assert created.status_code == 201, created.text
        invoice = created.json()
        grant = client.post(
            f"/api/v1/invoices/{invoice['id']}/attachments",
            json={"fileName": "March invoice.pdf", "contentType": "application/pdf"},
        ).json()

        # The browser posts the file straight to the bucket with the presigned form
        upload = httpx.post(
            grant["upload"]["url"],
            data=grant["upload"]["fields"],
            files={"file": ("March invoice.pdf", pdf, "application/pdf")},
        )
        assert upload.status_code == 204, upload.text

        stack.wait_for_invocation(
            lambda e: invoice["id"] in e["subject"], source="s3", function="InvoiceParserFunction"
        )
        parsed = wait_until(
            lambda: (found := client.get(f"/api/v1/invoices/{invoice['id']}").json())["status"] != "received" and found
        )

    assert parsed["status"] == "parsed", parsed["parseError"]
    assert parsed["attachments"][0]["fileName"] == "March invoice.pdf"
    # What alice entered stands; what she left out came from the PDF
    assert (parsed["vendor"], parsed["number"], parsed["total"]) == ("ACME Hardware", "INV-2026-0042", "814.80")
    assert len(parsed["services"]) == 3
