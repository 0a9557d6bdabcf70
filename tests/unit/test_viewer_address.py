"""Behind CloudFront the audit log records the browser's address, and no one else can choose it."""

from __future__ import annotations

import hashlib

import pytest

from payreq import settings
from payreq.edge import viewer_address

EDGE_SECRET = "s3cr3t-only-cloudfront-and-the-deploy-script-know-0123456789"
CLOUDFRONT_EDGE = "130.176.9.41"  # what API Gateway sees as sourceIp behind CloudFront


@pytest.fixture(autouse=True)
def _behind_cloudfront(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYREQ_EDGE_SECRET_SHA256", hashlib.sha256(EDGE_SECRET.encode()).hexdigest())
    settings.reset()


@pytest.mark.parametrize(
    ("forwarded", "browser"),
    [("198.51.100.7:46532", "198.51.100.7"), ("2001:db8::7:46532", "2001:db8::7")],
)
def test_a_request_through_cloudfront_is_recorded_with_the_browsers_address(forwarded: str, browser: str) -> None:
    headers = {"CloudFront-Viewer-Address": forwarded, "X-Payreq-Edge": EDGE_SECRET}

    assert viewer_address(CLOUDFRONT_EDGE, headers) == browser


@pytest.mark.parametrize(
    "headers",
    [
        {"cloudfront-viewer-address": "203.0.113.66:1234"},  # straight to execute-api, forged
        {"cloudfront-viewer-address": "203.0.113.66:1234", "x-payreq-edge": "a guess"},
        {"cloudfront-viewer-address": "not an address:1", "x-payreq-edge": EDGE_SECRET},
        {},
    ],
)
def test_a_request_without_the_edge_secret_keeps_api_gateways_source_address(headers: dict[str, str]) -> None:
    assert viewer_address("192.0.2.10", headers) == "192.0.2.10"


def test_without_cloudfront_configured_the_header_is_never_believed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYREQ_EDGE_SECRET_SHA256")
    settings.reset()

    headers = {"CloudFront-Viewer-Address": "203.0.113.66:1234", "X-Payreq-Edge": EDGE_SECRET}
    assert viewer_address("192.0.2.10", headers) == "192.0.2.10"
