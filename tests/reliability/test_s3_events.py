"""S3 notifications the parser must survive, delivered through the local stack's own notification
queue exactly as the bucket sends them: an object deleted before the parser reads it, the same
event delivered twice, and the upload form posted again to replace a verified invoice's file."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import boto3
import httpx
from unit.invoice_pdfs import plain_table, ruled_table, written_dates

from support.events import load_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from reliability.conftest import Figures
    from reliability.people import People, Person

PARSER = "InvoiceParserFunction"


def sqs(people: People) -> SQSClient:
    return boto3.client("sqs", endpoint_url=people.stack.s3_url, region_name="us-east-1")


def s3(people: People) -> S3Client:
    return boto3.client("s3", endpoint_url=people.stack.s3_url, region_name="us-east-1")


def notify(people: People, bucket: str, key: str, etag: str, version_id: str | None, size: int) -> None:
    """Queue an ObjectCreated notification for the parser, as the bucket's configuration does."""
    event = load_event("s3_object_created")
    record = event["Records"][0]["s3"]
    record["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    record["object"].update(key=quote_plus(key, safe="/"), eTag=etag, versionId=version_id, size=size)
    queues = sqs(people)
    [queue] = [url for url in queues.list_queues()["QueueUrls"] if PARSER in url]
    queues.send_message(QueueUrl=queue, MessageBody=json.dumps(event))


def grant(people: People, clerk: Person) -> dict[str, Any]:
    response = people.http.post(
        "/api/v1/invoices/uploads",
        headers=clerk.headers,
        json={"fileName": "invoice.pdf", "contentType": "application/pdf"},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def settled(people: People, clerk: Person, invoice_id: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        invoice = people.http.get(f"/api/v1/invoices/{invoice_id}", headers=clerk.headers).json()
        if invoice["status"] != "received":
            return invoice  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"invoice {invoice_id} never left 'received'")


def post_form(upload: dict[str, Any], pdf: bytes) -> None:
    """What the browser does with an upload grant: post the file to the bucket with the form's fields."""
    posted = httpx.post(upload["url"], data=upload["fields"], files={"file": ("invoice.pdf", pdf, "application/pdf")})
    assert posted.status_code == 204, posted.text


def parser_runs(people: People, key: str, since: int) -> int:
    name = key.rsplit("/", 1)[-1]
    return len([entry for entry in people.stack.invocations(function=PARSER, since=since) if name in str(entry)])


def bucket_of(upload: dict[str, Any]) -> str:
    return str(upload["url"]).rstrip("/").rsplit("/", 1)[1]


def test_an_object_deleted_before_the_parser_reads_it_is_parse_failed_with_a_reason(
    people: People, figures: Figures
) -> None:
    # Given an upload whose object is gone by the time its notification is handled
    clerk = people.browser("clerk", ("invoice.read", "invoice.write"))
    granted = grant(people, clerk)
    key = granted["upload"]["fields"]["key"]

    notify(people, bucket_of(granted["upload"]), key, "0" * 32, None, 1234)

    # Then the invoice ends parse_failed, saying why
    invoice = settled(people, clerk, granted["invoice"]["id"])
    assert invoice["status"] == "parse_failed"
    assert invoice["parseError"]
    figures.record(
        "S3: object deleted before parsing",
        parse_failed=int(invoice["status"] == "parse_failed"),
        reason=invoice["parseError"][:40],
    )


def test_the_same_event_twice_makes_one_result(people: People, figures: Figures) -> None:
    # Given an invoice PDF uploaded and parsed once
    clerk = people.browser("clerk", ("invoice.read", "invoice.write"))
    granted = grant(people, clerk)
    pdf = ruled_table().pdf
    since = people.stack.latest_seq()
    upload = httpx.post(
        granted["upload"]["url"],
        data=granted["upload"]["fields"],
        files={"file": ("invoice.pdf", pdf, "application/pdf")},
    )
    assert upload.status_code == 204, upload.text
    first = settled(people, clerk, granted["invoice"]["id"])
    assert first["status"] == "parsed", first["parseError"]

    # When S3 delivers the very same event twice more
    bucket, key = bucket_of(granted["upload"]), granted["upload"]["fields"]["key"]
    head = s3(people).head_object(Bucket=bucket, Key=key)
    for _ in range(2):
        notify(people, bucket, key, head["ETag"].strip('"'), head.get("VersionId"), len(pdf))
    deadline = time.monotonic() + 20
    while parser_runs(people, key, since) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    deliveries = parser_runs(people, key, since)

    # Then nothing changed: one parse, one version, one audit event for it
    again = people.http.get(f"/api/v1/invoices/{granted['invoice']['id']}", headers=clerk.headers).json()
    assert (again["status"], again["version"], again["total"]) == ("parsed", first["version"], first["total"])
    with people.database() as connection:
        parsed_events = connection.execute(
            "SELECT count(*) FROM audit_events WHERE entity_id = %s AND action = 'invoice.parsed'",
            (granted["invoice"]["id"],),
        ).fetchone()
    assert parsed_events == (1,)
    assert deliveries >= 3
    figures.record("S3: same event delivered again (x2)", deliveries=deliveries, results=parsed_events[0])


def test_a_reposted_upload_form_cannot_replace_a_verified_invoices_file(people: People, figures: Figures) -> None:
    # Given an invoice PDF (one no other test uploads) sent with its presigned form, parsed, and verified
    # by a colleague
    clerk = people.browser("clerk", ("invoice.read", "invoice.write"))
    verifier = people.browser("verifier", ("invoice.read", "invoice.write", "invoice.verify"))
    granted = grant(people, clerk)
    invoice_id, attachment_id = granted["invoice"]["id"], granted["attachment"]["id"]
    bucket, key = bucket_of(granted["upload"]), granted["upload"]["fields"]["key"]
    first, other = written_dates().pdf, plain_table().pdf
    post_form(granted["upload"], first)
    assert settled(people, clerk, invoice_id)["status"] == "parsed"
    read = people.http.get(f"/api/v1/invoices/{invoice_id}", headers=verifier.headers)
    verified = people.http.post(
        f"/api/v1/invoices/{invoice_id}/status",
        headers={**verifier.headers, "If-Match": read.headers["etag"]},
        json={"status": "verified"},
    )
    assert verified.status_code == 200, verified.text

    # When the same form is posted again with another invoice (S3 takes it: a new version of the key),
    # and S3's notification of that version is delivered twice more
    since = people.stack.latest_seq()
    post_form(granted["upload"], other)
    replaced = s3(people).head_object(Bucket=bucket, Key=key)
    for _ in range(2):
        notify(people, bucket, key, replaced["ETag"].strip('"'), replaced["VersionId"], len(other))
    deadline = time.monotonic() + 20
    while parser_runs(people, key, since) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    deliveries = parser_runs(people, key, since)

    # Then the invoice is as verified, and its download serves the first file
    after = people.http.get(f"/api/v1/invoices/{invoice_id}", headers=clerk.headers)
    assert after.json() == verified.json()
    link = people.http.get(f"/api/v1/invoices/{invoice_id}/attachments/{attachment_id}", headers=clerk.headers)
    assert link.status_code == 200, link.text
    served = httpx.get(link.json()["url"])
    assert served.status_code == 200 and served.content == first
    # And the refused version is on record once, as a security event on the invoice
    with people.database() as connection:
        refused = connection.execute(
            "SELECT after->>'refusedVersionId' FROM audit_events"
            " WHERE entity_id = %s AND category = 'security' AND action = 'attachment_replaced'",
            (invoice_id,),
        ).fetchall()
    assert refused == [(replaced["VersionId"],)]
    assert deliveries >= 3
    versions = s3(people).list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    figures.record(
        "S3: upload form posted again",
        reposts=len(versions) - 1,
        deliveries=deliveries,
        invoice_changed=int(after.json() != verified.json()),
        download_first_file=int(served.content == first),
        security_events=len(refused),
    )
