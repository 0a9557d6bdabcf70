"""The peer: Payreq's hot endpoints written the common way, as one FastAPI app behind Mangum
(a "lambdalith") with the SQLAlchemy ORM and a session per request.

It does the same work as Payreq's handlers, so that only the way of writing them differs: the same
tables (mapped declaratively onto `payreq.db.schema`), the same response models, and for writes
the same audit-chain append, outbox row and gapless number. It reads the authorizer's context
from the API Gateway event, as Payreq does. What it leaves out is Payreq's own edge work
(request validation against OpenAPI, CSRF, the error envelope, ETags), which only adds to
Payreq's side of the comparison.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from mangum import Mangum
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, relationship, selectinload, sessionmaker

from invoice_api.models import InvoiceSummary as InvoiceListItem
from payreq.audit import record_change
from payreq.context import RequestContext
from payreq.db import schema
from payreq.money import format_amount
from payreq.numbering import next_number
from payreq.outbox import publish_change
from pr_api.models import (
    InvoiceSummary,
    NewPaymentRequest,
    PaymentRequestSummary,
    PaymentRequestView,
    StepView,
)
from pr_api.rules import material_hash


class Base(DeclarativeBase):
    pass


# Mapped onto Payreq's own tables; the annotations type the columns the endpoints use.
class Approval(Base):
    __table__ = schema.approvals
    id: Mapped[uuid.UUID]
    payment_request_id: Mapped[uuid.UUID]
    approver_id: Mapped[uuid.UUID]
    decision: Mapped[str]
    comment: Mapped[str | None]
    created_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]
    material_hash: Mapped[bytes]


class ApprovalStep(Base):
    __table__ = schema.approval_steps
    round: Mapped[int]
    position: Mapped[int]
    required: Mapped[int]
    approvers: Mapped[list[uuid.UUID]]
    completed_at: Mapped[datetime | None]
    approvals: Mapped[list[Approval]] = relationship(order_by=schema.approvals.c.created_at)


class InvoiceLink(Base):
    __table__ = schema.pr_invoice_links
    payment_request_id: Mapped[uuid.UUID]


class Invoice(Base):
    __table__ = schema.invoices
    id: Mapped[uuid.UUID]
    reference: Mapped[str]
    invoice_number: Mapped[str | None]
    vendor: Mapped[str | None]
    currency: Mapped[str | None]
    total: Mapped[Decimal | None]
    status: Mapped[str]
    created_at: Mapped[datetime]
    links: Mapped[list[InvoiceLink]] = relationship(viewonly=True)


class PaymentRequest(Base):
    __table__ = schema.payment_requests
    id: Mapped[uuid.UUID]
    amount: Mapped[Decimal]
    currency: Mapped[str]
    payee: Mapped[str]
    status: Mapped[str]
    approval_flow: Mapped[list[dict[str, Any]]]
    approval_round: Mapped[int]
    current_step: Mapped[int | None]
    requester_id: Mapped[uuid.UUID]
    last_editor_id: Mapped[uuid.UUID]
    material_version: Mapped[int]
    material_hash: Mapped[bytes]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    steps: Mapped[list[ApprovalStep]] = relationship(order_by=schema.approval_steps.c.position)
    invoices: Mapped[list[Invoice]] = relationship(secondary=schema.pr_invoice_links, viewonly=True)


engine = create_engine(os.environ["PEER_DATABASE_URL"], pool_size=1, max_overflow=0)
Sessions = sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


def session() -> Any:
    with Sessions() as db:
        yield db


def caller(request: Request) -> RequestContext:
    event = request.scope["aws.event"]
    identity = event["requestContext"].get("authorizer", {}).get("lambda", {})
    if not identity.get("userId"):
        raise HTTPException(401, "Sign in first.")
    return RequestContext(
        request_id=event["requestContext"]["requestId"],
        user_id=uuid.UUID(identity["userId"]),
        permissions=frozenset(identity.get("permissions", "").split()),
        auth_method=identity.get("authMethod"),
    )


def allowed(permission: str) -> Any:
    def check(context: Annotated[RequestContext, Depends(caller)]) -> RequestContext:
        if not context.can(permission):
            raise HTTPException(403, f"Needs {permission}.")
        return context

    return Depends(check)


Db = Annotated[Session, Depends(session)]
PrReader = Annotated[RequestContext, allowed("pr.read")]
PrWriter = Annotated[RequestContext, allowed("pr.write")]
PrApprover = Annotated[RequestContext, allowed("pr.approve")]
InvoiceReader = Annotated[RequestContext, allowed("invoice.read")]


def summary(pr: PaymentRequest) -> PaymentRequestSummary:
    steps = [step for step in pr.steps if step.round == pr.approval_round]
    total = sum((invoice.total or Decimal(0) for invoice in pr.invoices), Decimal(0))
    return PaymentRequestSummary.model_validate(
        {
            **{column.key: getattr(pr, column.key) for column in schema.payment_requests.columns},
            "amount": format_amount(pr.amount, pr.currency),
            "material_hash": pr.material_hash.hex(),
            "invoice_count": len(pr.invoices),
            "invoices_total": format_amount(total, pr.currency),
            "steps": [
                StepView.model_validate(
                    {
                        **{column.key: getattr(step, column.key) for column in schema.approval_steps.columns},
                        "approvals": [
                            {
                                "approver_id": a.approver_id,
                                "decision": a.decision,
                                "comment": a.comment,
                                "created_at": a.created_at,
                                "material_hash": a.material_hash.hex(),
                            }
                            for a in step.approvals
                            if a.voided_at is None
                        ],
                    }
                )
                for step in steps
            ],
        }
    )


def view(pr: PaymentRequest) -> PaymentRequestView:
    invoices = [
        InvoiceSummary.model_validate(
            {
                "id": invoice.id,
                "reference": invoice.reference,
                "invoice_number": invoice.invoice_number,
                "vendor": invoice.vendor,
                "currency": invoice.currency,
                "total": format_amount(invoice.total, invoice.currency) if invoice.total and invoice.currency else None,
                "status": invoice.status,
            }
        )
        for invoice in pr.invoices
    ]
    return PaymentRequestView.model_validate({**summary(pr).model_dump(), "invoices": invoices})


def loaded(db: Session, pr_id: uuid.UUID) -> PaymentRequest:
    pr = db.get(
        PaymentRequest,
        pr_id,
        options=[
            selectinload(PaymentRequest.steps).selectinload(ApprovalStep.approvals),
            selectinload(PaymentRequest.invoices),
        ],
        populate_existing=True,
    )
    if pr is None:
        raise HTTPException(404, "No payment request with this id.")
    return pr


@app.get("/api/v1/prs/{pr_id}", response_model=PaymentRequestView, response_model_by_alias=True)
def get_request(pr_id: uuid.UUID, db: Db, _: PrReader) -> PaymentRequestView:
    return view(loaded(db, pr_id))


@app.get("/api/v1/prs", response_model_by_alias=True)
def list_requests(db: Db, _: PrReader, limit: int = 50) -> dict[str, Any]:
    query = (
        select(PaymentRequest)
        .options(
            selectinload(PaymentRequest.steps).selectinload(ApprovalStep.approvals),
            selectinload(PaymentRequest.invoices),
        )
        .order_by(PaymentRequest.created_at.desc(), PaymentRequest.id.desc())
        .limit(limit)
    )
    return {"items": [summary(pr).model_dump(by_alias=True, mode="json") for pr in db.scalars(query)]}


@app.post("/api/v1/prs", status_code=201, response_model=PaymentRequestView, response_model_by_alias=True)
def create_request(body: NewPaymentRequest, db: Db, context: PrWriter) -> PaymentRequestView:
    now = datetime.now(UTC)
    flow = [step.model_dump(mode="json") for step in body.approval_flow or ()]
    pr = PaymentRequest(
        id=uuid.uuid4(),
        number=next_number(db.connection(), "PR", now=now),
        **body.model_dump(exclude={"approval_flow", "approval_flow_template_id"}),
        approval_flow=flow,
        status="draft",
        requester_id=context.user_id,
        last_editor_id=context.user_id,
        material_version=1,
        material_hash=material_hash(body.amount, body.currency, body.payee, flow),
        created_at=now,
        updated_at=now,
    )
    db.add(pr)
    db.flush()
    _announce(db, context, pr, "pr.created", op="created")
    db.commit()
    return view(loaded(db, pr.id))


@app.post("/api/v1/prs/{pr_id}/approve", response_model=PaymentRequestView, response_model_by_alias=True)
def approve(
    pr_id: uuid.UUID,
    body: dict[str, Any],
    db: Db,
    context: PrApprover,
    if_match: Annotated[str | None, Header()] = None,
) -> PaymentRequestView:
    now = datetime.now(UTC)
    if if_match is None or not if_match.strip('W/"').isdigit():
        raise HTTPException(428, "Send If-Match with the ETag you read.")
    pr = db.get(PaymentRequest, pr_id, with_for_update=True)
    if pr is None:
        raise HTTPException(404, "No payment request with this id.")
    if pr.status != "pending" or pr.current_step is None:
        raise HTTPException(409, "Only pending requests can be approved.")
    if not pr.material_version <= int(if_match.strip('W/"')) <= pr.version:
        raise HTTPException(412, "The terms changed since you read them.")
    if context.user_id in (pr.requester_id, pr.last_editor_id):
        raise HTTPException(403, "Someone else must approve it.")
    steps = [step for step in pr.steps if step.round == pr.approval_round]
    step = steps[pr.current_step]
    if context.user_id not in step.approvers:
        raise HTTPException(403, "You are not an approver of the current step.")
    live = [a for a in step.approvals if a.voided_at is None]
    if any(a.approver_id == context.user_id for a in live):
        raise HTTPException(409, "You have already decided on this step.")
    step.approvals.append(
        Approval(
            id=uuid.uuid4(),
            payment_request_id=pr.id,
            approver_id=context.user_id,
            decision="approved",
            comment=body.get("comment"),
            created_at=now,
            material_hash=pr.material_hash,
        )
    )
    if len(live) + 1 >= step.required:
        step.completed_at = now
        if step.position + 1 < len(steps):
            pr.current_step = step.position + 1
        else:
            pr.status, pr.decided_at = "approved", now
    pr.version += 1
    pr.updated_at = now
    db.flush()
    _announce(db, context, pr, "pr.approval_given", op="updated")
    db.commit()
    return view(loaded(db, pr.id))


@app.get("/api/v1/invoices", response_model_by_alias=True)
def list_invoices(db: Db, _: InvoiceReader, limit: int = 50) -> dict[str, Any]:
    query = (
        select(Invoice)
        .options(selectinload(Invoice.links))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
        .limit(limit)
    )
    items = []
    for invoice in db.scalars(query):
        money = {
            name: format_amount(getattr(invoice, name), invoice.currency)
            if getattr(invoice, name) is not None and invoice.currency
            else None
            for name in ("subtotal", "tax", "total")
        }
        fields = {column.key: getattr(invoice, column.key) for column in schema.invoices.columns}
        link = invoice.links[0].payment_request_id if invoice.links else None
        item = InvoiceListItem.model_validate(
            {**fields, **money, "number": invoice.invoice_number, "payment_request_id": link}
        )
        items.append(item.model_dump(by_alias=True, mode="json"))
    return {"items": items}


def _announce(db: Session, context: RequestContext, pr: PaymentRequest, action: str, *, op: str) -> None:
    connection = db.connection()
    record_change(
        connection,
        context,
        action=action,
        entity_type="payment_request",
        entity_id=pr.id,
        after={"status": pr.status, "version": pr.version, "currentStep": pr.current_step},
    )
    publish_change(connection, entity="pr", entity_id=pr.id, op=op, version=pr.version)  # type: ignore[arg-type]


lambda_handler = Mangum(app, lifespan="off")
