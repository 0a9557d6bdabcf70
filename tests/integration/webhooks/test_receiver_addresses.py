"""Only public receivers are ever called: every address class a request forgery would aim at is
refused, by literal address or after DNS resolution, when subscribing and again at each attempt
(a name that resolves elsewhere later gets no connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from integration.webhooks.conftest import subscribe

if TYPE_CHECKING:
    from collections.abc import Callable

    from support.api_client import ApiClient
    from support.webhook_receiver import Receiver

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.7", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link_local"),  # the instance metadata service
    ("169.254.170.2", "link_local"),  # the ECS/Lambda credentials endpoint
    ("fe80::1", "link_local"),
    ("fd00:ec2::254", "unique_local"),  # the metadata service over IPv6
    ("fc00::1", "unique_local"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("100.64.0.1", "shared_address_space"),  # carrier-grade NAT
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "private"),  # documentation
    ("::ffff:169.254.169.254", "ipv4_mapped"),
    ("::ffff:8.8.8.8", "ipv4_mapped"),
    ("2002:a9fe:a9fe::1", "ipv4_mapped"),  # 6to4 wrapping 169.254.169.254
    ("64:ff9b::a9fe:a9fe", "reserved"),  # NAT64 of 169.254.169.254
]


@pytest.fixture(autouse=True)
def no_local_receivers(kms: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # As deployed: no receiver network is trusted, loopback included.
    monkeypatch.delenv("PAYREQ_WEBHOOK_LOCAL_RECEIVERS")


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def test_every_refused_address_class_is_refused_when_named_directly(ops: ApiClient) -> None:
    for address, reason in REFUSED:
        # When someone subscribes a URL naming the address itself
        refused = ops.post(
            "/api/v1/webhooks", json_body={"url": f"https://{_bracketed(address)}/hook", "eventTypes": ["pr.*"]}
        )
        # Then it is refused (422), the envelope naming the field and the address class
        assert refused.status == 422, (address, refused.body)
        [problem] = refused.body["error"]["details"]
        assert (problem["field"], problem["code"]) == ("url", f"address_refused_{reason}"), address


def test_every_refused_address_class_is_refused_after_dns_resolution(ops: ApiClient, dns: dict[str, list[str]]) -> None:
    for address, reason in REFUSED:
        # Given a name that resolves to the address
        dns["hooks.example.com"] = [address]
        # When someone subscribes it
        refused = ops.post(
            "/api/v1/webhooks", json_body={"url": "https://hooks.example.com/in", "eventTypes": ["pr.*"]}
        )
        # Then it is refused after resolution, naming the class
        assert refused.status == 422, (address, refused.body)
        assert refused.body["error"]["details"][0]["code"] == f"address_refused_{reason}", address
    # ... and nothing was subscribed
    assert ops.get("/api/v1/webhooks").body["items"] == []


def test_a_name_with_one_private_answer_among_public_ones_is_refused(ops: ApiClient, dns: dict[str, list[str]]) -> None:
    # Given a name that answers a public and a private address
    dns["mixed.example.com"] = ["93.184.216.34", "10.1.2.3"]
    # When someone subscribes it
    refused = ops.post("/api/v1/webhooks", json_body={"url": "https://mixed.example.com/", "eventTypes": ["pr.*"]})
    # Then it is refused: the sender would not know which one it reaches
    assert refused.status == 422
    assert refused.body["error"]["details"][0]["code"] == "address_refused_private"


def test_a_name_that_resolves_to_a_private_address_later_gets_no_request(
    ops: ApiClient,
    dns: dict[str, list[str]],
    receiver: Receiver,
    raise_pr: Callable[..., str],
    run_deliverer: Callable[[], Any],
) -> None:
    # Given a subscription whose name resolved to a public address when it was made
    dns["rebind.example.com"] = ["93.184.216.34"]
    subscription = subscribe(ops, "https://rebind.example.com/hook")
    # When the name later resolves to loopback (where a receiver listens) and an event is sent
    dns["rebind.example.com"] = ["127.0.0.1"]
    raise_pr()
    run_deliverer()
    # Then nothing was connected to, and the attempt failed saying why
    assert receiver.received == []
    [delivery] = ops.get(f"/api/v1/webhooks/{subscription['id']}/deliveries").body["items"]
    assert (delivery["status"], delivery["responseStatus"]) == ("pending", None)
    assert "loopback" in delivery["lastError"]


def test_plain_http_is_refused_outside_the_local_stack(
    ops: ApiClient, dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployed stage
    monkeypatch.setenv("PAYREQ_STAGE", "dev")
    dns["hooks.example.com"] = ["93.184.216.34"]
    # When someone subscribes an http:// URL
    refused = ops.post("/api/v1/webhooks", json_body={"url": "http://hooks.example.com/", "eventTypes": ["pr.*"]})
    # Then it is refused: https only
    assert refused.status == 422, refused.body
    assert refused.body["error"]["details"][0]["code"] == "https_required"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://user:pass@hooks.example.com/", "credentials_in_url"),
        ("ftp://hooks.example.com/", "https_required"),
        ("https:///no-host", "invalid_url"),
        ("https://does-not-resolve.example.com/", "unresolvable"),
    ],
)
def test_urls_the_deliverer_could_not_call_safely_are_refused(
    ops: ApiClient, dns: dict[str, list[str]], url: str, code: str
) -> None:
    dns["hooks.example.com"] = ["93.184.216.34"]
    # When someone subscribes the URL
    refused = ops.post("/api/v1/webhooks", json_body={"url": url, "eventTypes": ["pr.*"]})
    # Then it is refused, saying what is wrong
    assert refused.status == 422, refused.body
    assert refused.body["error"]["details"][0]["code"] == code


def test_a_changed_url_is_checked_like_a_new_one(ops: ApiClient, dns: dict[str, list[str]]) -> None:
    # Given a subscription to a public receiver
    dns["hooks.example.com"] = ["93.184.216.34"]
    subscription = subscribe(ops, "https://hooks.example.com/")
    # When its URL is changed to the metadata address
    refused = ops.patch(
        f"/api/v1/webhooks/{subscription['id']}",
        json_body={"url": "https://169.254.169.254/latest/"},
        headers={"If-Match": '"1"'},
    )
    # Then the change is refused and the subscription keeps its URL
    assert refused.status == 422
    assert ops.get(f"/api/v1/webhooks/{subscription['id']}").body["url"] == "https://hooks.example.com/"
