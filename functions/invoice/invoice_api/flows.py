"""Invoice flows: each runs on the caller's unit of work, locks the invoice it changes, and writes
the change, its audit event and its outbox row together."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from invoice_api import repository, rules
from invoice_api.models import FIELD_OF_COLUMN, AttachmentView, InvoiceSummary, InvoiceView, ServiceView
from payreq.audit import record_change, record_security_event, security_event_recorded
from payreq.card_numbers import mask
from payreq.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, detail, stale_version
from payreq.http.pagination import decode_newest_first, newest_first_page
from payreq.money import check_fits, format_amount
from payreq.numbering import next_number
from payreq.outbox import publish_change

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, RowMapping

    from invoice_api.models import AttachmentRequest, InvoiceChanges, InvoiceFields, NewInvoice, StatusChange
    from payreq.audit import SecurityAction
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


def summary(row: RowMapping) -> InvoiceSummary:
    return InvoiceSummary.model_validate(_shown(row))


def _shown(row: RowMapping) -> dict[str, Any]:
    currency = row["currency"]
    return {
        **row,
        "number": row["invoice_number"],
        "needs_review": row["status"] == "parsed" and bool(row["review_reasons"]),
        **{name: _money(row[name], currency) for name in ("subtotal", "tax", "total")},
    }


def view(connection: Connection, invoice_id: uuid.UUID) -> InvoiceView:
    row = repository.get(connection, invoice_id)
    if row is None:
        raise NotFound("No invoice with this id.")
    lines = repository.lines(connection, invoice_id)
    currency = row["currency"]
    services = [
        ServiceView(
            position=line["position"],
            description=line["description"],
            quantity=f"{line['quantity'].normalize():f}",
            unit_price=_money(line["unit_price"], currency) or "0",
            amount=_money(line["amount"], currency) or "0",
        )
        for line in lines
    ]
    return InvoiceView.model_validate(
        {
            **_shown(row),
            "services": services,
            "attachments": [attachment_view(a) for a in repository.attachments(connection, invoice_id)],
            "total_check": rules.total_check([dict(line) for line in lines], row["tax"], row["total"]),
        }
    )


def attachment_view(row: RowMapping) -> AttachmentView:
    return AttachmentView.model_validate({**row, "sha256": row["sha256"].hex() if row["sha256"] else None})


# --- creating and editing -----------------------------------------------------------------------


def _person_values(
    fields: InvoiceFields, context: RequestContext, now: datetime, *, only_set: bool
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]] | None]:
    """Column values, their field_sources entries, and the line rows (None when not given)."""
    given = fields.model_dump(exclude_unset=only_set, exclude={"services", "duplicate_override_reason"})
    values = {COLUMNS.get(name, name): value for name, value in given.items()}
    if values.get("document_type", "") is None:
        del values["document_type"]  # not a value to clear: an invoice unless someone says otherwise
    source = {"by": "person", "userId": str(context.user_id), "at": now.isoformat()}
    sources = {column: source for column, value in values.items() if value is not None or only_set}
    lines = None
    if fields.services is not None and ("services" in fields.model_fields_set or not only_set):
        lines = [line.model_dump() for line in fields.services]
        problem = rules.lines_problem(lines)
        if problem:
            raise InvalidInput(f"services: {problem}.", details=[detail("services", problem, "invalid_lines")])
        sources["services"] = source
    return values, sources, lines


def _check_amounts(merged: dict[str, Any], lines: list[dict[str, Any]] | None) -> None:
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
    repository.insert_invoice(
        connection,
        id=invoice_id,
        reference=next_number(connection, "INV", now=now),
        **values,
        vendor_key=vendor_key,
        invoice_number_key=number_key,
        duplicate_of=repository.duplicate_of(
            connection, invoice_id, vendor_key=vendor_key, number_key=number_key, hashes=()
        ),
        status="received",
        field_sources=sources,
        created_by=context.user_id,
        created_at=now,
        updated_at=now,
    )
    if lines:
        repository.replace_lines(connection, invoice_id, lines)
    _announce(connection, context, invoice_id, "invoice.created", before=None, op="created")
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
    if row["version"] != version:
        raise PreconditionFailed(
            "The invoice changed since you read it; reload and edit again.", details=[stale_version(row["version"])]
        )
    values, sources, lines = _person_values(changes, context, now, only_set=True)
    if (values or lines is not None) and row["status"] not in rules.EDITABLE:
        raise Conflict(f"An invoice that is {row['status']} can no longer be edited.", code="invalid_transition")
    if any(name in values and values[name] != row[name] for name in rules.AMOUNT_FIELDS) or lines is not None:
        _ensure_amounts_not_under_approval(connection, invoice_id)
    merged = {**row, **values}
    _check_amounts(merged, lines if lines is not None else _line_dicts(connection, invoice_id))
    if lines is not None:
        repository.replace_lines(connection, invoice_id, lines)
    values["field_sources"] = {**row["field_sources"], **sources}
    values["vendor_key"] = rules.vendor_key(merged.get("vendor"))
    values["invoice_number_key"] = rules.invoice_number_key(merged.get("invoice_number"))
    values.update(_duplicate_values(connection, invoice_id, {**merged, **values}))
    action = "invoice.edited"
    if changes.duplicate_override_reason is not None:
        flagged = values.get("duplicate_of", row["duplicate_of"])
        if flagged is None:
            raise Conflict("The invoice is not flagged as a duplicate.", code="not_a_duplicate")
        values["duplicate_override_reason"] = changes.duplicate_override_reason
        action = "invoice.duplicate_overridden"
    repository.update_invoice(connection, invoice_id, now=now, **values)
    _announce(connection, context, invoice_id, action, before=row)


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
    return [dict(line) for line in repository.lines(connection, invoice_id)]


def _duplicate_values(connection: Connection, invoice_id: uuid.UUID, current: dict[str, Any]) -> dict[str, Any]:
    """duplicate_of as it should now be; an override lapses when the invoice it named changes."""
    found = repository.duplicate_of(
        connection,
        invoice_id,
        vendor_key=rules.vendor_key(current.get("vendor")),
        number_key=rules.invoice_number_key(current.get("invoice_number")),
        hashes=repository.hashes_of(connection, invoice_id),
    )
    if found == current.get("duplicate_of"):
        return {}
    return {"duplicate_of": found, "duplicate_override_reason": None}


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
    if row["version"] != version:
        raise PreconditionFailed(
            "The invoice changed since you read it; reload it and decide again.",
            details=[stale_version(row["version"])],
        )
    rules.ensure_transition(row["status"], change.status, by="person")
    if change.status == "verified":
        _ensure_checker(connection, context, row)
        if row["duplicate_of"] is not None and not row["duplicate_override_reason"]:
            raise Conflict(
                "The invoice looks like a duplicate; override the flag with a reason before verifying it.",
                code="duplicate_unresolved",
                details=[detail("duplicateOf", f"looks like invoice {row['duplicate_of']}", "duplicate_unresolved")],
            )
    repository.update_invoice(connection, invoice_id, now=now, status=change.status)
    extra = {"reason": change.reason} if change.reason else None
    _announce(connection, context, invoice_id, f"invoice.{change.status}", before=row, extra=extra)


def _ensure_checker(connection: Connection, context: RequestContext, row: RowMapping) -> None:
    makers = rules.makers(row["created_by"], row["field_sources"], repository.uploaders(connection, row["id"]))
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
) -> RowMapping:
    row = _lock(connection, invoice_id)
    if row["status"] not in rules.EDITABLE:
        # What was verified is fixed, its files included.
        raise Conflict(f"An invoice that is {row['status']} takes no more attachments.", code="invalid_transition")
    attachment_id = uuid.uuid4()
    name = rules.safe_file_name(request.file_name, request.content_type)
    repository.insert_attachment(
        connection,
        id=attachment_id,
        invoice_id=invoice_id,
        bucket=bucket,
        object_key=f"uploads/{invoice_id}/{attachment_id}/{name}",
        file_name=request.file_name,
        content_type=request.content_type,
        created_by=context.user_id,
        created_at=now,
    )
    repository.update_invoice(connection, invoice_id, now=now)
    _announce(
        connection,
        context,
        invoice_id,
        "invoice.attachment_added",
        before=row,
        extra={"attachmentId": str(attachment_id), "fileName": request.file_name},
    )
    found = repository.attachment(connection, attachment_id)
    assert found is not None
    return found


def attachment_of(connection: Connection, invoice_id: uuid.UUID, attachment_id: uuid.UUID) -> RowMapping:
    found = repository.attachment(connection, attachment_id)
    if found is None or found["invoice_id"] != invoice_id:
        raise NotFound("No attachment with this id on this invoice.")
    if found["uploaded_at"] is None:
        raise Conflict("The file has not been uploaded yet.", code="not_uploaded")
    if found["version_id"] is None:
        # Without its version, the key may name a later file than the one recorded.
        raise Conflict(
            "The bucket kept no version of this file, so the file recorded cannot be told from a later one.",
            code="not_versioned",
        )
    return found


# --- the parser's results -----------------------------------------------------------------------


def _locked_with_attachment(connection: Connection, attachment_id: uuid.UUID) -> tuple[RowMapping, RowMapping] | None:
    """The attachment's invoice and the attachment, both locked (invoice first, as every change
    takes them); None for an attachment no one asked for."""
    found = repository.attachment(connection, attachment_id)
    if found is None:
        return None
    row = _lock(connection, found["invoice_id"])
    attachment = repository.attachment(connection, attachment_id, for_update=True)
    assert attachment is not None
    return row, attachment


UploadOutcome = Literal["recorded", "already recorded", "refused", "ignored"]


def record_upload(
    connection: Connection,
    context: RequestContext,
    attachment_id: uuid.UUID,
    *,
    etag: str,
    version_id: str | None,
    size: int,
    sha256: bytes | None,
    outcome: dict[str, Any] | None,
    failure: str | None,
    now: datetime,
) -> UploadOutcome:
    """Record an attachment's first uploaded object version and what parsing found.

    An attachment takes one version, once: the same version again (a repeated or late S3 event) makes
    no second result, and any other version is refused (`_refused`)."""
    locked = _locked_with_attachment(connection, attachment_id)
    if locked is None:
        return "ignored"
    row, attachment = locked
    if not rules.takes_file(row["status"], attachment["uploaded_at"]):
        return _refused(connection, context, row, attachment, etag=etag, version_id=version_id)
    repository.update_attachment(
        connection, attachment_id, etag=etag, version_id=version_id, size_bytes=size, sha256=sha256, uploaded_at=now
    )
    invoice_id = row["id"]
    values: dict[str, Any] = {}
    action = "invoice.attachment_uploaded"
    if failure is not None:
        # A parsed invoice stays parsed (another file of it may fail); the reason is kept either way.
        values.update(parse_error=failure)
        if rules.allows(row["status"], "parse_failed", by="parser"):
            values.update(status="parse_failed")
        action = "invoice.parse_failed"
    elif outcome is not None:
        values.update(_parsed_values(connection, row, outcome, now=now))
        if rules.allows(row["status"], "parsed", by="parser"):
            values.update(status="parsed", parse_error=None)
        action = "invoice.parsed"
    merged = {**row, **values}
    values["vendor_key"] = rules.vendor_key(merged.get("vendor"))
    values["invoice_number_key"] = rules.invoice_number_key(merged.get("invoice_number"))
    values.update(_duplicate_values(connection, invoice_id, {**merged, **values}))
    repository.update_invoice(connection, invoice_id, now=now, **values)
    extra = {"attachmentId": str(attachment_id), "sha256": sha256.hex() if sha256 else None}
    _announce(connection, context, invoice_id, action, before=row, extra=extra)
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
    row: RowMapping,
    attachment: RowMapping,
    *,
    etag: str,
    version_id: str | None,
) -> UploadOutcome:
    """An upload grant is single use and what was verified is fixed: a version after the recorded one
    (the same form posted again) or a first file arriving once the invoice is closed changes nothing.
    The attempt is a security event on the invoice, once per version however often S3 repeats it."""
    recorded = (attachment["etag"], attachment["version_id"])
    if attachment["uploaded_at"] is not None and recorded == (etag, version_id):
        return "already recorded"
    action: SecurityAction = "attachment_replaced" if attachment["uploaded_at"] is not None else "attachment_too_late"
    refused = {"attachmentId": str(attachment["id"]), "refusedVersionId": version_id, "refusedEtag": etag}
    if security_event_recorded(connection, action, entity_type="invoice", entity_id=row["id"], details=refused):
        return "refused"
    details = {
        **refused,
        "recordedVersionId": attachment["version_id"],
        "invoiceStatus": row["status"],
        "grantedTo": str(attachment["created_by"]),
    }
    record_security_event(connection, context, action, details, entity_type="invoice", entity_id=row["id"])
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
    if attachment["uploaded_at"] is not None or row["status"] not in ("received", "parse_failed"):
        return False
    if row["parse_error"] == MISSING_UPLOAD:
        return False
    after = {"status": "parse_failed", "parse_error": MISSING_UPLOAD}
    repository.update_invoice(connection, row["id"], now=now, **after)
    extra = {"attachmentId": str(attachment_id), "reason": "object_missing"}
    _announce(connection, context, row["id"], "invoice.parse_failed", before=row, extra=extra)
    return True


def _parsed_values(
    connection: Connection, row: RowMapping, outcome: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """The fields parsing found, except those a person has set."""
    sources = dict(row["field_sources"])
    values: dict[str, Any] = {}

    def by_person(name: str) -> bool:
        return bool(sources.get(name, {}).get("by") == "person")

    reasons = list(outcome.get("review_reasons", []))
    parsed_type = outcome.get("document_type", "invoice")
    fields = dict(outcome["fields"])
    items = outcome["items"]
    kept_type = row["document_type"] if by_person("document_type") else parsed_type
    if kept_type != parsed_type:
        # The person said what kind of document this is: amounts signed the other way are not filled in.
        fields = {name: found for name, found in fields.items() if name not in ("subtotal", "tax", "total")}
        items = []
        reasons.append(f"The file reads as a {parsed_type.replace('_', ' ')}; its amounts were not filled in.")
    elif not by_person("document_type"):
        values["document_type"] = parsed_type
        sources["document_type"] = {"by": "parser", "at": now.isoformat()}
    request_status = repository.linked_request_status(connection, row["id"])
    if rules.amounts_frozen(request_status):
        # Its amounts are part of what the request's approvers approve: not changed behind them.
        fields = {name: found for name, found in fields.items() if name not in rules.AMOUNT_FIELDS}
        items = []
        reasons.append(
            f"The invoice is linked to a payment request that is {request_status}; its amounts were not filled in."
        )
    # Text read from a file is free text like any other: a card number in it is never stored.
    items = [
        {**item, "description": mask(item["description"])} if isinstance(item.get("description"), str) else item
        for item in items
    ]
    values["review_reasons"] = reasons
    for name, found in fields.items():
        if by_person(name) or name not in rules.FIELDS:
            continue
        value = found["value"]
        if name in ("issue_date", "due_date") and isinstance(value, str):
            value = date.fromisoformat(value)
        elif isinstance(value, str):
            value = mask(value)
        values[name] = value
        sources[name] = {"by": "parser", **{k: v for k, v in found.items() if k != "value"}, "at": now.isoformat()}
    currency = values.get("currency", row["currency"])
    for name in ("subtotal", "tax", "total"):
        if name in values and currency:
            try:
                check_fits(Decimal(values[name]), currency)
            except ValueError:
                values.pop(name)
                sources.pop(name)
    # Recorded as read, an amount of the wrong sign would make an invoice no person could save.
    while (wrong_sign := rules.sign_problem({**row, **values})) is not None and wrong_sign[0] in values:
        name, why = wrong_sign
        reasons.append(f"The {name} read from the file ({values.pop(name)}) was not filled in: the {why}.")
        sources.pop(name)
    if items and not by_person("services"):
        repository.replace_lines(connection, row["id"], items)
        sources["services"] = {
            "by": "parser",
            "confidence": outcome.get("items_confidence", 0.8),
            "count": len(items),
            "lineConfidences": outcome.get("item_confidences", []),
            "at": now.isoformat(),
        }
    if "tax" in sources and sources["tax"].get("by") == "parser" and outcome.get("taxes"):
        sources["tax"]["breakdown"] = outcome["taxes"]
    values["field_sources"] = sources
    return values


# --- helpers ------------------------------------------------------------------------------------


def _lock(connection: Connection, invoice_id: uuid.UUID) -> RowMapping:
    row = repository.lock(connection, invoice_id)
    if row is None:
        raise NotFound("No invoice with this id.")
    return row


def _announce(
    connection: Connection,
    context: RequestContext,
    invoice_id: uuid.UUID,
    action: str,
    *,
    before: Any,
    op: str = "updated",
    extra: dict[str, Any] | None = None,
) -> None:
    after = repository.get(connection, invoice_id)
    assert after is not None
    record_change(
        connection,
        context,
        action=action,
        entity_type="invoice",
        entity_id=invoice_id,
        before={key: before[key] for key in AUDITED} if before is not None else None,
        after={**{key: after[key] for key in AUDITED}, **(extra or {})},
    )
    publish_change(connection, entity="invoice", entity_id=invoice_id, op=op, version=after["version"], action=action)  # type: ignore[arg-type]


def page_of(
    connection: Connection,
    *,
    status: str | None,
    vendor: str | None,
    number: str | None,
    issue_from: date | None,
    issue_to: date | None,
    due_from: date | None,
    due_to: date | None,
    total_min: Decimal | None,
    total_max: Decimal | None,
    linked: bool | None,
    duplicate: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[InvoiceSummary], str | None]:
    inv = repository.INV
    position = decode_newest_first(cursor)
    number_key = rules.invoice_number_key(number)
    flagged = inv.c.duplicate_of.is_not(None) & inv.c.duplicate_override_reason.is_(None)
    filters = [
        condition
        for condition in (
            inv.c.status == status if status else None,
            repository.contains(inv.c.vendor, vendor) if vendor else None,
            inv.c.invoice_number_key == number_key if number_key else None,
            inv.c.issue_date >= issue_from if issue_from else None,
            inv.c.issue_date <= issue_to if issue_to else None,
            inv.c.due_date >= due_from if due_from else None,
            inv.c.due_date <= due_to if due_to else None,
            inv.c.total >= total_min if total_min is not None else None,
            inv.c.total <= total_max if total_max is not None else None,
            (repository.linked() if linked else ~repository.linked()) if linked is not None else None,
            (flagged if duplicate else ~flagged) if duplicate is not None else None,
        )
        if condition is not None
    ]
    rows = repository.page(connection, filters=filters, limit=limit + 1, after=position)
    rows, next_cursor = newest_first_page(rows, limit)
    return [summary(row) for row in rows], next_cursor
