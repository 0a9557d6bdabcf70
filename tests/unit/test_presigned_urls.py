"""Presigned S3 URLs work from a browser in any region: SigV4, on the bucket's regional host.

moto accepts SigV2 and the global host alike, so only the URLs themselves can show this; they are
generated offline (signing needs credentials, not a network).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from payreq import aws

if TYPE_CHECKING:
    from collections.abc import Iterator

BUCKET = "payreq-prod-attachmentsbucket-1a2b3c4d5e6f"
KEY = "uploads/0b6f0d7e-2a3c-4c8e-9f61-1a2b3c4d5e6f/5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b/invoice.pdf"


@pytest.fixture(params=["eu-central-1", "us-east-1", "ap-southeast-2"])
def region(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # As in Lambda: the region from the environment, no endpoint override.
    monkeypatch.setenv("AWS_REGION", request.param)
    monkeypatch.setenv("AWS_DEFAULT_REGION", request.param)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset()
    yield request.param
    aws.reset()


def test_an_upload_form_is_sigv4_on_the_regional_virtual_hosted_endpoint(region: str) -> None:
    # When the invoice function signs a browser upload
    post = aws.client("s3").generate_presigned_post(Bucket=BUCKET, Key=KEY, ExpiresIn=300)

    # Then the form posts to the bucket's own regional host, signed with SigV4 for that region
    url = urlsplit(post["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", f"{BUCKET}.s3.{region}.amazonaws.com", "/")
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert post["fields"]["x-amz-credential"].endswith(f"/{region}/s3/aws4_request")
    assert "AWSAccessKeyId" not in post["fields"] and "signature" not in post["fields"]


def test_a_download_link_is_sigv4_on_the_regional_virtual_hosted_endpoint(region: str) -> None:
    # When the invoice function signs a download
    link = aws.client("s3").generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY}, ExpiresIn=300)

    # Then the browser fetches from the regional host, with a SigV4 query string
    url = urlsplit(link)
    query = parse_qs(url.query)
    assert url.netloc == f"{BUCKET}.s3.{region}.amazonaws.com"
    assert url.path == f"/{KEY}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].endswith(f"/{region}/s3/aws4_request")
    assert "Signature" not in query


def test_a_custom_endpoint_keeps_path_style_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local stack's moto endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://localhost:4566")
    aws.reset()

    # When an upload is signed
    post = aws.client("s3").generate_presigned_post(Bucket=BUCKET, Key=KEY, ExpiresIn=300)

    # Then it goes to the endpoint itself (no `<bucket>.localhost` host to resolve), still SigV4
    assert post["url"] == f"http://localhost:4566/{BUCKET}"
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
