"""Invoice flows: each runs on the caller's unit of work, locks the invoice it changes, and writes
the change, its audit event and its outbox row together."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from invoice_api import repository, rules, uploads
from invoice_api.models import FIELD_OF_COLUMN, AttachmentView, InvoiceSummary, InvoiceView, ServiceView
from invoice_api.records import LineValues, NewAttachment
from payreq.announce import Announced, announce
from payreq.audit import record_security_event, security_event_recorded
from payreq.db.records import columns_of
from payreq.errors import Conflict, Forbidden, InvalidInput, NotFound, detail, ensure_version, must_exist
from payreq.http.pagination import decode_newest_first
from payreq.money import check_fits, format_amount
from payreq.numbering import next_number

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from decimal import Decimal

    from sqlalchemy.engine import Connection

    from invoice_api.models import AttachmentRequest, InvoiceChanges, InvoiceFields, NewInvoice, StatusChange
    from invoice_api.records import Attachment, Invoice, InvoiceFilter, InvoiceUpdate, UploadedVersion
    from invoice_api.uploads import ParseOutcome, UploadOutcome
    from payreq.context import RequestContext

AUDITED = (
    "reference",
    "invoice_number",
    "vendor",
    "issue_date",
    "due_date",
    "currency",
    "subtotal",
    "tax",
    "total",
    "status",
    "parse_error",
    "document_type",
    "review_reasons",
    "duplicate_of",
    "duplicate_override_reason",
    "version",
)
INVOICE = Announced("invoice", "invoice", AUDITED)
# JSON name -> column, for the fields a person or the parser sets.
COLUMNS = {field: column for column, field in FIELD_OF_COLUMN.items()}


# --- reading ------------------------------------------------------------------------------------


def _money(value: Decimal | None, currency: str | None) -> str | None:
    if value is None:
        return None
    if currency:
        try:
            return format_amount(value, currency)
        except ValueError:
            pass
    return f"{value.normalize():f}"


def summary(row: Invoice) -> InvoiceSummary:
    return InvoiceSummary.model_validate(_shown(row))


def _shown(row: Invoice) -> dict[str, Any]:
    return {
        **columns_of(row),
        "number": row.invoice_number,
        "needs_review": row.status == "parsed" and bool(row.review_reasons),
        "subtotal": _money(row.subtotal, row.currency),
        "tax": _money(row.tax, row.currency),
        "total": _money(row.total, row.currency),
    }


def view(connection: Connection, invoice_id: uuid.UUID) -> InvoiceView:
    row = must_exist(repository.get(connection, invoice_id), "No invoice with this id.")
    lines = repository.lines(connection, invoice_id)
    services = [
        ServiceView(
            position=line.position,
            description=line.description,
            quantity=f"{line.quantity.normalize():f}",
            unit_price=_money(line.unit_price, row.currency) or "0",
            amount=_money(line.amount, row.currency) or "0",
        )
        for line in lines
    ]
    return InvoiceView.model_validate(
        {
            **_shown(row),
            "services": services,
            "attachments": [attachment_view(a) for a in repository.attachments(connection, invoice_id)],
            "total_check": rules.total_check([columns_of(line) for line in lines], row.tax, row.total),
        }
    )


def attachment_view(row: Attachment) -> AttachmentView:
    return AttachmentView.model_validate({**columns_of(row), "sha256": row.sha256.hex() if row.sha256 else None})


# --- creating and editing -----------------------------------------------------------------------


def _person_values(
    fields: InvoiceFields, context: RequestContext, now: datetime, *, only_set: bool
) -> tuple[InvoiceUpdate, dict[str, Any], list[LineValues] | None]:
    """Column values, their field_sources entries, and the line rows (None when not given)."""
    given = fields.model_dump(exclude_unset=only_set, exclude={"services", "duplicate_override_reason"})
    # The model's fields are the invoice's columns under their API names.
    values = cast("InvoiceUpdate", {COLUMNS.get(name, name): value for name, value in given.items()})
    if values.get("document_type", "") is None:
        del values["document_type"]  # not a value to clear: an invoice unless someone says otherwise
    source = {"by": "person", "userId": str(context.user_id), "at": now.isoformat()}
    sources = {column: source for column, value in values.items() if value is not None or only_set}
    lines = None
    if fields.services is not None and ("services" in fields.model_fields_set or not only_set):
        lines = [
            LineValues(
                description=line.description, quantity=line.quantity, unit_price=line.unit_price, amount=line.amount
            )
            for line in fields.services
        ]
        problem = rules.lines_problem(lines)
        if problem:
            raise InvalidInput(f"services: {problem}.", details=[detail("services", problem, "invalid_lines")])
        sources["services"] = source
    return values, sources, lines


def _check_amounts(merged: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] | None) -> None:
    wrong_sign = rules.sign_problem(merged)
    if wrong_sign is not None:
        name, why = wrong_sign
        raise InvalidInput(f"{why}.", details=[detail(name, why, "wrong_sign")])
    currency = merged.get("currency")
    if currency:
        for name in ("subtotal", "tax", "total"):
            if merged.get(name) is not None:
                try:
                    check_fits(merged[name], currency)
                except ValueError as error:
                    raise InvalidInput(
                        f"{name}: {error}", details=[detail(name, str(error), "invalid_amount")]
                    ) from None
    if lines is not None and rules.total_check(lines, merged.get("tax"), merged.get("total")) == "mismatch":
        raise InvalidInput(
            "The services and tax do not add up to the total.",
            code="total_mismatch",
            details=[detail("total", "does not equal the services plus tax", "total_mismatch")],
        )


def create(connection: Connection, context: RequestContext, request: NewInvoice | None, *, now: datetime) -> uuid.UUID:
    assert context.user_id is not None
    invoice_id = uuid.uuid4()
    values, sources, lines = (
        ({}, {}, None) if request is None else _person_values(request, context, now, only_set=False)
    )
    _check_amounts(values, lines)
    vendor_key = rules.vendor_key(values.get("vendor"))
    number_key = rules.invoice_number_key(values.get("invoice_number"))
    reference = next_number(connection, "INV", now=now)
    values.update(
        {
            "vendor_key": vendor_key,
            "invoice_number_key": number_key,
            "duplicate_of": repository.duplicate_of(
                connection, invoice_id, vendor_key=vendor_key, number_key=number_key, hashes=()
            ),
            "status": "received",
            "field_sources": sources,
        }
    )
    repository.insert_invoice(
        connection, invoice_id, reference=reference, created_by=context.user_id, now=now, values=values
    )
    if lines:
        repository.replace_lines(connection, invoice_id, lines)
    created = repository.get(connection, invoice_id)
    announce(
        connection,
        context,
        INVOICE,
        "created",
        action="invoice.created",
        entity_id=invoice_id,
        before=None,
        after=created,
    )
    return invoice_id


def edit(
    connection: Connection,
    context: RequestContext,
    invoice_id: uuid.UUID,
    changes: InvoiceChanges,
    *,
    version: int,
    now: datetime,
) -> None:
    row = _lock(connection, invoice_id)
    ensure_version(row.version, version, "The invoice changed since you read it; reload and edit again.")
    values, sources, lines = _person_values(changes, context, now, only_set=True)
    if (values or lines is not None) and row.status not in rules.EDITABLE:
        raise Conflict(f"An invoice that is {row.status} can no longer be edited.", code="invalid_transition")
    amounts_changed = any(name in values and values.get(name) != getattr(row, name) for name in rules.AMOUNT_FIELDS)
    if amounts_changed or lines is not None:
        _ensure_amounts_not_under_approval(connection, invoice_id)
    merged = {**columns_of(row), **values}
    _check_amounts(merged, lines if lines is not None else _line_dicts(connection, invoice_id))
    if lines is not None:
        repository.replace_lines(connection, invoice_id, lines)
    values["field_sources"] = {**row.field_sources, **sources}
    _update_keys(connection, invoice_id, values, merged)
    action = "invoice.edited"
    if changes.duplicate_override_reason is not None:
        if values.get("duplicate_of", row.duplicate_of) is None:
            raise Conflict("The invoice is not flagged as a duplicate.", code="not_a_duplicate")
        values["duplicate_override_reason"] = changes.duplicate_override_reason
        action = "invoice.duplicate_overridden"
    after = repository.update_invoice(connection, invoice_id, now=now, values=values)
    announce(connection, context, INVOICE, "updated", action=action, entity_id=invoice_id, before=row, after=after)


def _ensure_amounts_not_under_approval(connection: Connection, invoice_id: uuid.UUID) -> None:
    # A linked invoice's total is part of what its request's approvers approve: changing it behind
    # them would pay what nobody approved. Unlinking (which restarts approval) comes first.
    request_status = repository.linked_request_status(connection, invoice_id)
    if rules.amounts_frozen(request_status):
        raise Conflict(
            f"The invoice is linked to a payment request that is {request_status}: its amounts are part of what "
            "is approved. Unlink it from the request first.",
            code="linked_to_request",
            details=[detail("paymentRequestId", f"the linked request is {request_status}", "linked_to_request")],
        )


def _line_dicts(connection: Connection, invoice_id: uuid.UUID) -> list[dict[str, Any]]:
    return [columns_of(line) for line in repository.lines(connection, invoice_id)]


def _update_keys(
    connection: Connection, invoice_id: uuid.UUID, values: InvoiceUpdate, merged: Mapping[str, Any]
) -> None:
    """Add to `values` the duplicate keys of the invoice as `merged` (it and its changes) says, and
    duplicate_of as it should now be: an override lapses when the invoice it named changes."""
    vendor_key = values["vendor_key"] = rules.vendor_key(merged.get("vendor"))
    number_key = values["invoice_number_key"] = rules.invoice_number_key(merged.get("invoice_number"))
    found = repository.duplicate_of(
        connection,
        invoice_id,
        vendor_key=vendor_key,
        number_key=number_key,
        hashes=repository.hashes_of(connection, invoice_id),
    )
    if found != values.get("duplicate_of", merged.get("duplicate_of")):
        values.update({"duplicate_of": found, "duplicate_override_reason": None})


def change_status(
    connection: Connection,
    context: RequestContext,
    invoice_id: uuid.UUID,
    change: StatusChange,
    *,
    version: int,
    now: datetime,
) -> None:
    """A person verifies or rejects the invoice as they read it (`version`). Whether they hold
    `invoice.verify` is the route's check (it depends on the body); that they had no hand in the
    invoice is checked here."""
    row = _lock(connection, invoice_id)
    ensure_version(row.version, version, "The invoice changed since you read it; reload it and decide again.")
    rules.ensure_transition(row.status, change.status, by="person")
    if change.status == "verified":
        _ensure_checker(connection, context, row)
        if row.duplicate_of is not None and not row.duplicate_override_reason:
            raise Conflict(
                "The invoice looks like a duplicate; override the flag with a reason before verifying it.",
                code="duplicate_unresolved",
                details=[detail("duplicateOf", f"looks like invoice {row.duplicate_of}", "duplicate_unresolved")],
            )
    after = repository.update_invoice(connection, invoice_id, now=now, values={"status": change.status})
    announce(
        connection,
        context,
        INVOICE,
        "updated",
        action=f"invoice.{change.status}",
        entity_id=invoice_id,
        before=row,
        after=after,
        extra={"reason": change.reason} if change.reason else None,
    )


def _ensure_checker(connection: Connection, context: RequestContext, row: Invoice) -> None:
    makers = rules.makers(row.created_by, row.field_sources, repository.uploaders(connection, row.id))
    if context.user_id in makers:
        raise Forbidden(
            "You entered this invoice or added a file to it, so someone else must verify it.", code="maker_checker"
        )


# --- attachments --------------------------------------------------------------------------------


def add_attachment(
    connection: Connection,
    context: RequestContext,
    invoice_id: uuid.UUID,
    request: AttachmentRequest,
    *,
    bucket: str,
    now: datetime,
) -> Attachment:
    row = _lock(connection, invoice_id)
    if row.status not in rules.EDITABLE:
        # What was verified is fixed, its files included.
        raise Conflict(f"An invoice that is {row.status} takes no more attachments.", code="invalid_transition")
    assert context.user_id is not None, "people add attachments"
    attachment_id = uuid.uuid4()
    name = rules.safe_file_name(request.file_name, request.content_type)
    repository.insert_attachment(
        connection,
        NewAttachment(
            id=attachment_id,
            invoice_id=invoice_id,
            bucket=bucket,
            object_key=f"uploads/{invoice_id}/{attachment_id}/{name}",
            file_name=request.file_name,
            content_type=request.content_type,
            created_by=context.user_id,
            created_at=now,
        ),
    )
    after = repository.update_invoice(connection, invoice_id, now=now)
    announce(
        connection,
        context,
        INVOICE,
        "updated",
        action="invoice.attachment_added",
        entity_id=invoice_id,
        before=row,
        after=after,
        extra={"attachmentId": str(attachment_id), "fileName": request.file_name},
    )
    found = repository.attachment(connection, attachment_id)
    assert found is not None
    return found


def attachment_of(connection: Connection, invoice_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
    found = repository.attachment(connection, attachment_id)
    if found is None or found.invoice_id != invoice_id:
        raise NotFound("No attachment with this id on this invoice.")
    if found.uploaded_at is None:
        raise Conflict("The file has not been uploaded yet.", code="not_uploaded")
    if found.version_id is None:
        # Without its version, the key may name a later file than the one recorded.
        raise Conflict(
            "The bucket kept no version of this file, so the file recorded cannot be told from a later one.",
            code="not_versioned",
        )
    return found


# --- the parser's results -----------------------------------------------------------------------


def _locked_with_attachment(connection: Connection, attachment_id: uuid.UUID) -> tuple[Invoice, Attachment] | None:
    """The attachment's invoice and the attachment, both locked (invoice first, as every change
    takes them); None for an attachment no one asked for."""
    found = repository.attachment(connection, attachment_id)
    if found is None:
        return None
    row = _lock(connection, found.invoice_id)
    attachment = repository.attachment(connection, attachment_id, for_update=True)
    assert attachment is not None
    return row, attachment


def record_upload(
    connection: Connection,
    context: RequestContext,
    attachment_id: uuid.UUID,
    uploaded: UploadedVersion,
    *,
    outcome: ParseOutcome | None,
    failure: str | None,
) -> UploadOutcome:
    """Record an attachment's first uploaded object version and what parsing found.

    An attachment takes one version, once: the same version again (a repeated or late S3 event) makes
    no second result, and any other version is refused (`_refused`)."""
    locked = _locked_with_attachment(connection, attachment_id)
    if locked is None:
        return "ignored"
    row, attachment = locked
    if not rules.takes_file(row.status, attachment.uploaded_at):
        return _refused(connection, context, row, attachment, etag=uploaded.etag, version_id=uploaded.version_id)
    repository.record_version(connection, attachment_id, uploaded)
    now = uploaded.uploaded_at
    values: InvoiceUpdate = {}
    if failure is None and outcome is not None:
        request_status = repository.linked_request_status(connection, row.id)
        fill = uploads.parsed_fill(row, outcome, request_status=request_status, now=now)
        if fill.lines:
            repository.replace_lines(connection, row.id, fill.lines)
        values.update(fill.values)
    status, action = uploads.status_change(row.status, failure=failure, parsed=outcome is not None)
    values.update(status)
    _update_keys(connection, row.id, values, {**columns_of(row), **values})
    after = repository.update_invoice(connection, row.id, now=now, values=values)
    sha256 = uploaded.sha256.hex() if uploaded.sha256 else None
    announce(
        connection,
        context,
        INVOICE,
        "updated",
        action=action,
        entity_id=row.id,
        before=row,
        after=after,
        extra={"attachmentId": str(attachment_id), "sha256": sha256},
    )
    return "recorded"


def record_unread_upload(
    connection: Connection, context: RequestContext, attachment_id: uuid.UUID, *, etag: str, version_id: str | None
) -> UploadOutcome:
    """An upload the parser need not read, as the attachment takes no file (`rules.takes_file`): the
    version on record again changes nothing; any other is refused (`_refused`)."""
    locked = _locked_with_attachment(connection, attachment_id)
    if locked is None:
        return "ignored"
    row, attachment = locked
    return _refused(connection, context, row, attachment, etag=etag, version_id=version_id)


def _refused(
    connection: Connection,
    context: RequestContext,
    row: Invoice,
    attachment: Attachment,
    *,
    etag: str,
    version_id: str | None,
) -> UploadOutcome:
    """An upload grant is single use and what was verified is fixed: a version after the recorded one
    (the same form posted again) or a first file arriving once the invoice is closed changes nothing.
    The attempt is a security event on the invoice, once per version however often S3 repeats it."""
    action = uploads.refusal(attachment, etag=etag, version_id=version_id)
    if action == "already recorded":
        return action
    refused = {"attachmentId": str(attachment.id), "refusedVersionId": version_id, "refusedEtag": etag}
    if security_event_recorded(connection, action, entity_type="invoice", entity_id=row.id, details=refused):
        return "refused"
    details = {
        **refused,
        "recordedVersionId": attachment.version_id,
        "invoiceStatus": row.status,
        "grantedTo": str(attachment.created_by),
    }
    record_security_event(connection, context, action, details, entity_type="invoice", entity_id=row.id)
    return "refused"


MISSING_UPLOAD = "The uploaded file was gone before it could be read (deleted or replaced); upload it again."


def record_missing_upload(
    connection: Connection, context: RequestContext, attachment_id: uuid.UUID, *, now: datetime
) -> bool:
    """The upload's notification came but its object is gone (deleted or overwritten before it was
    read): an invoice still waiting for that file fails with a reason a person can act on. False
    (and nothing changed) when a version of it was already recorded, or this was already said."""
    locked = _locked_with_attachment(connection, attachment_id)
    if locked is None:
        return False
    row, attachment = locked
    if attachment.uploaded_at is not None or row.status not in ("received", "parse_failed"):
        return False
    if row.parse_error == MISSING_UPLOAD:
        return False
    after = repository.update_invoice(
        connection, row.id, now=now, values={"status": "parse_failed", "parse_error": MISSING_UPLOAD}
    )
    announce(
        connection,
        context,
        INVOICE,
        "updated",
        action="invoice.parse_failed",
        entity_id=row.id,
        before=row,
        after=after,
        extra={"attachmentId": str(attachment_id), "reason": "object_missing"},
    )
    return True


# --- helpers ------------------------------------------------------------------------------------


def _lock(connection: Connection, invoice_id: uuid.UUID) -> Invoice:
    return must_exist(repository.lock(connection, invoice_id), "No invoice with this id.")


def page_of(
    connection: Connection, narrowed: InvoiceFilter, *, limit: int, cursor: str | None
) -> tuple[list[InvoiceSummary], str | None]:
    """A page of invoices, newest first, and the cursor of the next page (None for the last)."""
    invoices, next_cursor = repository.page(connection, narrowed, limit=limit, after=decode_newest_first(cursor))
    return [summary(invoice) for invoice in invoices], next_cursor
