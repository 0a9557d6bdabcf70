"""Once recorded, an attachment's file is fixed: the upload form posted again, or a first file
arriving after the invoice was verified, changes nothing, is refused once per object version as a
security event, and downloads serve the version on record."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from unit import invoice_pdfs

from integration.invoices.conftest import BUCKET, Uploads, grant_for, new_upload, set_status
from invoice_api.settings import AttachmentSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


def security_events(engine: Engine, invoice_id: str) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT action, after FROM audit_events"
                " WHERE entity_type = 'invoice' AND entity_id = :id AND category = 'security' ORDER BY seq"
            ),
            {"id": invoice_id},
        )
        return [(row.action, row.after) for row in rows]


def downloaded_version(browser: ApiClient, invoice_id: str, attachment_id: str) -> tuple[int, str | None, Any]:
    """(status, the VersionId the download URL names, the answer's body)."""
    response = browser.get(f"/api/v1/invoices/{invoice_id}/attachments/{attachment_id}")
    if response.status != 200:
        return response.status, None, response.body
    query = parse_qs(urlsplit(response.body["url"]).query)
    return 200, query.get("versionId", [None])[0], response.body


def test_a_reposted_upload_form_cannot_replace_a_verified_invoices_file(
    clerk: ApiClient, verifier: ApiClient, uploads: Uploads, s3: Any, engine: Engine
) -> None:
    # Given an invoice created from a PDF, parsed, and verified by a colleague
    created = new_upload(clerk)
    invoice_id, attachment_id = created["invoice"]["id"], created["attachment"]["id"]
    first_file = invoice_pdfs.ruled_table().pdf
    recorded = uploads.upload(created, first_file)
    recorded_version = recorded["Records"][0]["s3"]["object"]["versionId"]
    verified = set_status(verifier, invoice_id, "verified")
    assert verified.status == 200, verified.body

    # When the same upload form is posted again with another invoice, twice, and S3 notifies the
    # parser of each new version three times
    replacements = [uploads.put(created, invoice_pdfs.plain_table().pdf) for _ in range(2)]
    for event in replacements:
        for _ in range(3):
            uploads.deliver(event)

    # Then the invoice and its attachment are as verified
    after = clerk.get(f"/api/v1/invoices/{invoice_id}").body
    assert after == verified.body
    assert (after["status"], after["number"], after["total"]) == ("verified", "INV-2026-0042", "814.80")
    # And the download serves the recorded version, whose bytes are the first file
    status, version, _ = downloaded_version(clerk, invoice_id, attachment_id)
    assert (status, version) == (200, recorded_version)
    served = s3.get_object(Bucket=BUCKET, Key=created["upload"]["fields"]["key"], VersionId=version)["Body"].read()
    assert served == first_file
    # And each refused version is one security event naming both versions, however often S3 repeated it
    refused = [event["Records"][0]["s3"]["object"]["versionId"] for event in replacements]
    assert security_events(engine, invoice_id) == [
        (
            "attachment_replaced",
            {
                "attachmentId": attachment_id,
                "recordedVersionId": recorded_version,
                "refusedVersionId": version_id,
                "refusedEtag": event["Records"][0]["s3"]["object"]["eTag"],
                "invoiceStatus": "verified",
                "grantedTo": after["createdBy"],
            },
        )
        for version_id, event in zip(refused, replacements, strict=True)
    ]


def test_a_reposted_form_before_verification_does_not_replace_the_parsed_file_either(
    clerk: ApiClient, uploads: Uploads, engine: Engine
) -> None:
    # Given an invoice whose PDF was parsed
    created = new_upload(clerk)
    invoice_id = created["invoice"]["id"]
    uploads.upload(created, invoice_pdfs.ruled_table().pdf)
    parsed = clerk.get(f"/api/v1/invoices/{invoice_id}").body

    # When the form is posted again with another PDF
    uploads.upload(created, invoice_pdfs.plain_table().pdf)

    # Then what a verifier will see is still the first file's
    assert clerk.get(f"/api/v1/invoices/{invoice_id}").body == parsed
    assert [action for action, _ in security_events(engine, invoice_id)] == ["attachment_replaced"]


def test_a_first_file_arriving_after_verification_is_refused(
    clerk: ApiClient, verifier: ApiClient, uploads: Uploads, engine: Engine
) -> None:
    # Given an upload grant asked for while the invoice was open, then the invoice verified without it
    invoice = clerk.post("/api/v1/invoices", json_body={"number": "N-1", "currency": "EUR", "total": "10.00"}).body
    grant = grant_for(clerk, invoice["id"])
    verified = set_status(verifier, invoice["id"], "verified").body

    # When the file is posted with that grant, and S3 notifies the parser twice
    event = uploads.put(grant, invoice_pdfs.plain_table().pdf)
    uploads.deliver(event)
    uploads.deliver(event)

    # Then the verified invoice has no file it was not verified with, and the attempt is on record once
    assert clerk.get(f"/api/v1/invoices/{invoice['id']}").body == verified
    status, _, body = downloaded_version(clerk, invoice["id"], grant["attachment"]["id"])
    assert (status, body["error"]["code"]) == (409, "not_uploaded")
    assert [(action, details["invoiceStatus"]) for action, details in security_events(engine, invoice["id"])] == [
        ("attachment_too_late", "verified")
    ]


@pytest.mark.parametrize("status", ["verified", "paid", "rejected"])
def test_a_closed_invoice_takes_no_new_attachments(status: str, clerk: ApiClient, s3: Any, engine: Engine) -> None:
    # Given an invoice that is verified, paid or rejected
    invoice = clerk.post("/api/v1/invoices", json_body={"number": "N-2"}).body
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE invoices SET status = :status WHERE id = :id"), {"status": status, "id": invoice["id"]}
        )

    # When someone asks to attach a file
    response = clerk.post(
        f"/api/v1/invoices/{invoice['id']}/attachments",
        json_body={"fileName": "better.pdf", "contentType": "application/pdf"},
    )

    # Then it is refused, and the invoice has no attachment
    assert (response.status, response.error_code) == (409, "invalid_transition")
    assert clerk.get(f"/api/v1/invoices/{invoice['id']}").body["attachments"] == []


def test_an_upload_grant_lasts_at_most_five_minutes(clerk: ApiClient, s3: Any) -> None:
    # When a clerk asks to upload a file
    before = datetime.now(UTC)
    grant = new_upload(clerk)["upload"]

    # Then the form and the policy S3 enforces expire within five minutes
    policy = json.loads(base64.b64decode(grant["fields"]["policy"]))
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert (expiration - before).total_seconds() <= 300 + 1
    assert (datetime.fromisoformat(grant["expiresAt"].replace("Z", "+00:00")) - before).total_seconds() <= 300 + 1
    # And no configuration may make it longer
    with pytest.raises(ValueError, match="300"):
        AttachmentSettings(upload_url_seconds=900)


def test_an_attachment_recorded_without_a_version_is_not_served(
    clerk: ApiClient, uploads: Uploads, engine: Engine
) -> None:
    # Given a recorded attachment whose version the bucket did not keep (versioning suspended)
    invoice = clerk.post("/api/v1/invoices", json_body={"number": "N-3"}).body
    grant = grant_for(clerk, invoice["id"], name="scan.png", kind="image/png")
    uploads.upload(grant, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE invoice_attachments SET version_id = NULL WHERE id = :id"), {"id": grant["attachment"]["id"]}
        )

    # When it is downloaded
    status, _, body = downloaded_version(clerk, invoice["id"], grant["attachment"]["id"])

    # Then it is refused: the key alone may hold a later file than the one on record
    assert (status, body["error"]["code"]) == (409, "not_versioned")
