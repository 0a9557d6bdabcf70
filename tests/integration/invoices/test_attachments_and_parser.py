"""Attachments through presigned S3 URLs (moto), and the S3-triggered parser: fields and services
from real PDFs, one result per object version, a person's values kept, hostile files contained."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from pydantic.alias_generators import to_camel
from sqlalchemy import text
from unit import invoice_pdfs

from integration.invoices.conftest import BUCKET, Uploads, grant_for, new_upload
from invoice_api.models import InvoiceView

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


def audit_actions(engine: Engine, invoice_id: str) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT action FROM audit_events WHERE entity_type = 'invoice' AND entity_id = :id ORDER BY seq"),
                {"id": invoice_id},
            ).scalars()
        )


def test_an_upload_grant_is_a_presigned_post_limited_by_size_type_and_key(clerk: ApiClient, s3: Any) -> None:
    # Given an invoice
    invoice = clerk.post("/api/v1/invoices", json_body={}).body

    # When a clerk asks to attach a PDF with an unsafe name
    grant = grant_for(clerk, invoice["id"], name="../März invoice (final).pdf")

    # Then the form posts to the attachments bucket, under uploads/<invoice>/<attachment>/<safe name>
    fields = grant["upload"]["fields"]
    attachment_id = grant["attachment"]["id"]
    assert fields["key"] == f"uploads/{invoice['id']}/{attachment_id}/Marz_invoice_final.pdf"
    assert BUCKET in grant["upload"]["url"]
    # And its policy allows 1 byte to 20 MB of exactly this content type
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 20 * 1024 * 1024] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    assert grant["attachment"]["fileName"] == "../März invoice (final).pdf"
    assert grant["attachment"]["uploadedAt"] is None


def test_only_pdf_png_and_jpeg_are_accepted(clerk: ApiClient, s3: Any) -> None:
    response = clerk.post("/api/v1/invoices/uploads", json_body={"fileName": "x.exe", "contentType": "text/plain"})

    assert response.status == 422


@pytest.mark.parametrize("layout", invoice_pdfs.LAYOUTS, ids=lambda make: make.__name__)
def test_an_uploaded_pdf_is_parsed_into_the_invoice(
    layout: Any, clerk: ApiClient, uploads: Uploads, engine: Engine
) -> None:
    # Given an invoice created from a file, and the PDF uploaded to the bucket
    sample = layout()
    created = new_upload(clerk, name=f"{sample.name}.pdf")
    invoice_id = created["invoice"]["id"]

    # When S3 notifies the parser
    uploads.upload(created, sample.pdf)

    # Then the invoice holds what the PDF says, and where each field came from
    invoice = clerk.get(f"/api/v1/invoices/{invoice_id}").body
    assert invoice["status"] == "parsed", invoice["parseError"]
    expected = sample.fields
    assert invoice["number"] == expected["invoice_number"]
    assert invoice["vendor"] == expected["vendor"]
    assert (invoice["issueDate"], invoice["dueDate"]) == (str(expected["issue_date"]), str(expected["due_date"]))
    assert invoice["currency"] == expected["currency"]
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == tuple(
        f"{expected[name]:.2f}" for name in ("subtotal", "tax", "total")
    )
    assert [(s["description"], s["quantity"], s["unitPrice"], s["amount"]) for s in invoice["services"]] == [
        (d, f"{q.normalize():f}", f"{u:.2f}", f"{a:.2f}") for d, q, u, a in sample.items
    ]
    assert invoice["totalCheck"] == "matches"
    source = invoice["fieldSources"]["total"]
    assert source["by"] == "parser" and source["confidence"] > 0.9 and source["page"] >= 1 and source["line"] >= 1
    assert invoice["attachments"][0]["uploadedAt"] is not None
    assert audit_actions(engine, invoice_id) == ["invoice.created", "invoice.attachment_added", "invoice.parsed"]


def test_the_same_event_twice_or_late_makes_one_result(clerk: ApiClient, uploads: Uploads, engine: Engine) -> None:
    # Given an upload whose file was replaced by a second version before the events arrived
    created = new_upload(clerk)
    invoice_id = created["invoice"]["id"]
    first = uploads.put(created, invoice_pdfs.plain_table().pdf)
    second = uploads.put(created, invoice_pdfs.ruled_table().pdf)

    # When the events arrive twice each, the newer first
    for event in (second, second, first, first):
        uploads.deliver(event)

    # Then there is one parse result, of the current version, and one audit event for it
    invoice = clerk.get(f"/api/v1/invoices/{invoice_id}").body
    assert invoice["number"] == "INV-2026-0042"
    assert audit_actions(engine, invoice_id).count("invoice.parsed") == 1
    assert invoice["version"] == 3


def test_a_file_gone_before_it_was_read_fails_the_invoice_once_with_a_reason(
    clerk: ApiClient, uploads: Uploads, engine: Engine
) -> None:
    # Given an upload whose notification arrives after its object was deleted
    created = new_upload(clerk)
    invoice_id = created["invoice"]["id"]
    event = uploads.event(created["upload"]["fields"]["key"], "0" * 32, None, 1234)

    # When the parser gets that notification, twice
    uploads.deliver(event)
    uploads.deliver(event)

    # Then the invoice failed once, saying what to do, and still has no file
    invoice = clerk.get(f"/api/v1/invoices/{invoice_id}").body
    assert invoice["status"] == "parse_failed"
    assert "upload it again" in invoice["parseError"]
    assert audit_actions(engine, invoice_id).count("invoice.parse_failed") == 1
    assert invoice["attachments"][0]["uploadedAt"] is None


def test_parsing_never_overwrites_what_a_person_entered(clerk: ApiClient, uploads: Uploads) -> None:
    # Given an invoice whose vendor and total a person entered
    invoice = clerk.post(
        "/api/v1/invoices", json_body={"vendor": "ACME (UK) Limited", "currency": "GBP", "total": "814.00"}
    ).body

    # When its PDF is parsed
    uploads.upload(grant_for(clerk, invoice["id"]), invoice_pdfs.ruled_table().pdf)

    # Then the person's values stand and the rest is filled in
    parsed = clerk.get(f"/api/v1/invoices/{invoice['id']}").body
    assert (parsed["status"], parsed["vendor"], parsed["total"]) == ("parsed", "ACME (UK) Limited", "814.00")
    assert parsed["number"] == "INV-2026-0042"
    assert parsed["fieldSources"]["vendor"]["by"] == "person"
    assert parsed["fieldSources"]["number"]["by"] == "parser"
    # Every key is the invoice field's camelCase name, every time in UTC with a Z
    assert set(parsed["fieldSources"]) <= {to_camel(name) for name in InvoiceView.model_fields} | {"number"}
    assert all(source["at"].endswith("Z") for source in parsed["fieldSources"].values())


@pytest.mark.parametrize("name", list(invoice_pdfs.HOSTILE))
def test_a_hostile_file_ends_as_parse_failed(name: str, clerk: ApiClient, uploads: Uploads, engine: Engine) -> None:
    # Given a hostile file uploaded as an invoice PDF
    created = new_upload(clerk)
    data = invoice_pdfs.HOSTILE[name]()

    # When the parser is notified (an empty object is what S3 would hold for zero bytes)
    started = time.monotonic()
    uploads.upload(created, data)

    # Then the invoice failed parsing with a reason, in bounded time, and nothing was raised
    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert time.monotonic() - started < 25
    assert invoice["status"] == "parse_failed"
    assert invoice["parseError"]
    assert audit_actions(engine, created["invoice"]["id"])[-1] == "invoice.parse_failed"


def test_a_file_larger_than_the_limit_is_not_read(
    clerk: ApiClient, uploads: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = new_upload(clerk)
    monkeypatch.setenv("PAYREQ_MAX_UPLOAD_BYTES", "1000")

    uploads.upload(created, invoice_pdfs.ruled_table().pdf)

    invoice = clerk.get(f"/api/v1/invoices/{created['invoice']['id']}").body
    assert invoice["status"] == "parse_failed"
    assert "at most" in invoice["parseError"]


def test_images_are_stored_not_parsed_and_can_be_downloaded(clerk: ApiClient, uploads: Uploads) -> None:
    # Given a PNG attached to an invoice
    invoice = clerk.post("/api/v1/invoices", json_body={"number": "X-1"}).body
    grant = grant_for(clerk, invoice["id"], name="scan.png", kind="image/png")
    path = f"/api/v1/invoices/{invoice['id']}/attachments/{grant['attachment']['id']}"
    before = clerk.get(path)

    uploads.upload(grant, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)

    # Then it is recorded with its hash, the invoice still waits for a person, and a download URL is given
    after = clerk.get(path)
    assert (before.status, before.error_code) == (409, "not_uploaded")
    assert after.status == 200, after.body
    assert after.body["attachment"]["sha256"] and after.body["attachment"]["sizeBytes"] == 72
    assert (BUCKET in after.body["url"] and "Signature" in after.body["url"]) or "X-Amz-Signature" in after.body["url"]
    assert clerk.get(f"/api/v1/invoices/{invoice['id']}").body["status"] == "received"
