"""Invoice tests: a signed-in clerk, the attachments bucket in moto, and S3 events for the parser."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from invoice_api import parser
from payreq import aws
from support.events import load_event
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from support.api_client import ApiClient, ApiResponse

BUCKET = "payreq-test-attachmentsbucket-1kq3mz8e0b7x"
CLERK = ("invoice.read", "invoice.write")
VERIFIER = (*CLERK, "invoice.verify")


@pytest.fixture
def clerk(signed_in: Callable[..., ApiClient]) -> ApiClient:
    return signed_in("ivy@example.com", CLERK)


@pytest.fixture
def verifier(signed_in: Callable[..., ApiClient]) -> ApiClient:
    """Someone who checks invoices others entered."""
    return signed_in("vera@example.com", VERIFIER)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The attachments bucket (versioned, as in the template), in moto."""
    monkeypatch.setenv("PAYREQ_ATTACHMENTS_BUCKET", BUCKET)
    with mock_aws():
        aws.reset()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client
        aws.reset()


class Uploads:
    """What a browser and S3 do after the API grants an upload: put the file, notify the parser."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def put(self, grant: dict[str, Any], data: bytes) -> dict[str, Any]:
        fields = grant["upload"]["fields"]
        put = self.s3.put_object(Bucket=BUCKET, Key=fields["key"], Body=data, ContentType=fields["Content-Type"])
        return self.event(fields["key"], put["ETag"].strip('"'), put.get("VersionId"), len(data))

    def event(self, key: str, etag: str, version_id: str | None, size: int) -> dict[str, Any]:
        event = copy.deepcopy(load_event("s3_object_created"))
        record = event["Records"][0]["s3"]
        record["bucket"].update(name=BUCKET, arn=f"arn:aws:s3:::{BUCKET}")
        record["object"].update(key=quote_plus(key, safe="/"), eTag=etag, versionId=version_id, size=size)
        return event

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        return parser.lambda_handler(event, FakeLambdaContext("payreq-invoice-parser"))

    def upload(self, grant: dict[str, Any], data: bytes) -> dict[str, Any]:
        event = self.put(grant, data)
        self.deliver(event)
        return event


@pytest.fixture
def uploads(s3: Any) -> Uploads:
    return Uploads(s3)


def grant_for(browser: ApiClient, invoice_id: str, name: str = "invoice.pdf", kind: str = "application/pdf") -> Any:
    response = browser.post(
        f"/api/v1/invoices/{invoice_id}/attachments", json_body={"fileName": name, "contentType": kind}
    )
    assert response.status == 201, response.body
    return response.body


def new_upload(browser: ApiClient, name: str = "invoice.pdf", kind: str = "application/pdf") -> Any:
    response = browser.post("/api/v1/invoices/uploads", json_body={"fileName": name, "contentType": kind})
    assert response.status == 201, response.body
    return response.body


def set_status(browser: ApiClient, invoice_id: str, status: str, **body: Any) -> ApiResponse:
    """A status change as a person makes one: on the version of the invoice they have just read."""
    read = browser.get(f"/api/v1/invoices/{invoice_id}")
    assert read.status == 200, read.body
    return browser.post(
        f"/api/v1/invoices/{invoice_id}/status",
        json_body={"status": status, **body},
        headers={"If-Match": read.headers["etag"]},
    )
