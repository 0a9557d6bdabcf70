"""The peer: Payreq's hot endpoints written the common way, as one FastAPI app behind Mangum
(a "lambdalith") with the SQLAlchemy ORM and a session per request.

It imports nothing of Payreq's but the table definitions (`payreq.db.schema`, plain SQLAlchemy
`Table`s): no layer, no Powertools. Its models, its money formatting, its audit-chain append, its
outbox row and its gapless number are its own, doing the same work as Payreq's. Each response is
validated once (built with `model_validate`, then dumped; no `response_model` to validate it again).

Configuration (environment):
- `PEER_DATABASE_URL`: the driver is whatever the URL names (`postgresql+pg8000://` gets the same
  placeholder memo, one-round-trip statements and statements parsed once per connection that
  Payreq gives pg8000; `postgresql+psycopg://` is psycopg 3, which prepares by itself);
- `PEER_DB_IAM=1`: sign an RDS IAM token (boto3) for each new connection, as deployed;
- the caller comes from the authorizer's context when API Gateway ran one (the warm figures: both
  sides are measured behind the same authorizer); with none (one function, as a lambdalith is
  usually deployed), it checks the `Authorization: Bearer` API token itself: one indexed lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from mangum import Mangum
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, relationship, selectinload, sessionmaker


def _table_definitions() -> Any:
    """Payreq's `payreq/db/schema.py` (SQLAlchemy `Table`s and nothing else), loaded from its file:
    importing it as `payreq.db.schema` would run the layer's package `__init__`s (engine, settings)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "layers" / "shared" / "payreq" / "db" / "schema.py"
    spec = importlib.util.spec_from_file_location("peer_tables", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["peer_tables"] = module
    spec.loader.exec_module(module)
    return module


schema = _table_definitions()

# ---------------------------------------------------------------- the database


def _remember_placeholder_rewrites() -> None:
    """pg8000 rescans each statement to turn `%s` into `$n` on every execution; remembered per text
    (the same memo Payreq gives itself, so the drivers compare like with like)."""
    import pg8000.legacy

    scan = pg8000.legacy.convert_paramstyle

    @lru_cache(maxsize=1024)
    def rewritten(statement: str) -> str:
        return str(scan("format", statement, ())[0])

    def convert(style: str, statement: str, args: Any) -> tuple[str, Any]:
        return (rewritten(statement), args) if style == "format" else scan(style, statement, args)

    pg8000.legacy.convert_paramstyle = convert


def _pipeline_statements() -> None:
    """pg8000 waits three times per statement (Parse, Describe, Bind/Execute); sent together, it is
    one round trip, and a statement with parameters is parsed once per connection under a name,
    then run by it (the same change Payreq makes to pg8000, so the drivers compare like with like;
    psycopg 3 prepares a statement by name itself from its fifth run)."""
    from itertools import count

    import pg8000.core
    from pg8000.converters import make_params

    core: Any = pg8000.core
    own = core.CoreConnection.execute_unnamed

    def execute_unnamed(self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Any:
        if stream is not None:
            return own(self, statement, vals, oids, stream)
        params = make_params(self.py_types, vals)
        names: dict[tuple[str, tuple[int, ...]], tuple[bytes, Any, Any]] = self.__dict__.setdefault("_peer_names", {})
        key = (statement, tuple(oids))
        found = names.get(key) if vals else None
        if found is None:
            numbers = self.__dict__.setdefault("_peer_numbers", count())
            name = f"peer_{next(numbers)}".encode() + core.NULL_BYTE if vals else core.NULL_BYTE
            context = core.Context(statement)
            self.send_PARSE(name, statement, oids)
            self.send_DESCRIBE_STATEMENT(name)
        else:
            name, columns, input_funcs = found
            context = core.Context(statement, columns=columns, input_funcs=input_funcs)
        self.send_BIND(name, params)
        self.send_EXECUTE()
        core._write(self._sock, core.SYNC_MSG)
        core._flush(self._sock)
        self.handle_messages(context)  # a failed run is not kept: its name is never used again
        if found is None and vals:
            names[key] = (name, context.columns, context.input_funcs)
        return context

    core.CoreConnection.execute_unnamed = execute_unnamed


def _decode_faster() -> None:
    """Dates and timestamps read with `fromisoformat` (pg8000's own converter for what it cannot
    read), and each row description built once per connection: the decoding Payreq gives pg8000."""
    import pg8000.converters
    import pg8000.core

    types: Any = pg8000.converters.PG_TYPES

    def from_iso(parse: Any, own: Any) -> Any:
        def convert(text: str) -> Any:
            try:
                return parse(text)
            except ValueError:
                return own(text)

        return convert

    for oid, parse in ((1184, datetime.fromisoformat), (1114, datetime.fromisoformat), (1082, date.fromisoformat)):
        types[oid] = from_iso(parse, types[oid])
    connection_class: Any = pg8000.core.CoreConnection
    own_describe = connection_class.handle_ROW_DESCRIPTION

    def handle_row_description(self: Any, data: Any, context: Any) -> None:
        remembered = self.__dict__.setdefault("_row_descriptions", {})
        found = remembered.get(bytes(data))
        if found is None:
            own_describe(self, data, context)
            remembered[bytes(data)] = (context.columns, context.input_funcs)
            return
        context.columns, context.input_funcs = found
        if context.rows is None:
            context.rows = []

    connection_class.handle_ROW_DESCRIPTION = handle_row_description


url = make_url(os.environ["PEER_DATABASE_URL"])
if url.drivername == "postgresql+pg8000":
    _remember_placeholder_rewrites()
    _pipeline_statements()
    _decode_faster()
engine = create_engine(url, pool_size=1, max_overflow=0)

if os.environ.get("PEER_DB_IAM") == "1":
    import boto3

    # One client for the container's life, built at init as such an app would write it (and so in
    # a SnapStart snapshot), not on the first connect.
    rds = boto3.client("rds")

    @event.listens_for(engine, "do_connect")
    def _iam_token(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = rds.generate_db_auth_token(
            DBHostname=str(url.host),
            Port=url.port or 5432,
            DBUsername=str(url.username),
            Region=os.environ["AWS_REGION"],
        )


Sessions = sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


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
    subtotal: Mapped[Decimal | None]
    tax: Mapped[Decimal | None]
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


# ---------------------------------------------------------------- the models


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class StepIn(Model):
    name: str = Field(min_length=1, max_length=200)
    mode: Literal["anyof", "allof"]
    approvers: list[uuid.UUID] = Field(min_length=1, max_length=20)
    required: int | None = Field(default=None, ge=1)


class NewPaymentRequest(Model):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    payee: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    due_date: date | None = None
    cost_centre: str | None = Field(default=None, max_length=100)
    approval_flow: list[StepIn] | None = None


class ApprovalView(Model):
    approver_id: uuid.UUID
    decision: str
    comment: str | None
    created_at: datetime
    material_hash: str


class StepView(Model):
    position: int
    name: str
    mode: str
    required: int
    approvers: list[uuid.UUID]
    completed_at: datetime | None
    approvals: list[ApprovalView]


class InvoiceSummary(Model):
    id: uuid.UUID
    reference: str
    invoice_number: str | None
    vendor: str | None
    currency: str | None
    total: str | None
    status: str


class PaymentRequestSummary(Model):
    id: uuid.UUID
    number: str
    title: str
    description: str
    payee: str
    amount: str
    currency: str
    due_date: date | None
    cost_centre: str | None
    status: str
    current_step: int | None
    approval_round: int
    requester_id: uuid.UUID
    last_editor_id: uuid.UUID
    approval_flow: list[dict[str, Any]]
    approval_flow_template_id: uuid.UUID | None
    version: int
    material_version: int
    material_hash: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    steps: list[StepView]
    invoice_count: int
    invoices_total: str


class PaymentRequestView(PaymentRequestSummary):
    invoices: list[InvoiceSummary]


class InvoiceListItem(Model):
    id: uuid.UUID
    reference: str
    number: str | None
    vendor: str | None
    currency: str | None
    subtotal: str | None
    tax: str | None
    total: str | None
    status: str
    payment_request_id: uuid.UUID | None
    created_at: datetime


class Page(Model):
    items: list[Any]


def as_json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(by_alias=True), status_code=status, media_type="application/json")


MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}


def money(amount: Decimal, currency: str) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))))


# ---------------------------------------------------------------- the caller


@dataclass(frozen=True)
class Caller:
    request_id: str
    user_id: uuid.UUID
    permissions: frozenset[str]


TOKEN_LOOKUP = text(
    """
    SELECT t.user_id, t.scopes, t.expires_at, t.revoked_at, u.is_active,
           coalesce((SELECT array_agg(p.permission) FROM user_permissions p WHERE p.user_id = t.user_id),
                    '{}'::text[]) AS permissions
    FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = :hash
    """
)


def session() -> Any:
    with Sessions() as db:
        yield db


Db = Annotated[Session, Depends(session)]


def caller(request: Request, db: Db) -> Caller:
    event = request.scope["aws.event"]
    request_id = event["requestContext"]["requestId"]
    identity = event["requestContext"].get("authorizer", {}).get("lambda", {})
    if identity.get("userId"):
        return Caller(request_id, uuid.UUID(identity["userId"]), frozenset(identity.get("permissions", "").split()))
    scheme, _, secret = (event.get("headers") or {}).get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise HTTPException(401, "Sign in first.")
    row = db.execute(TOKEN_LOOKUP, {"hash": hashlib.sha256(secret.encode()).digest()}).one_or_none()
    now = datetime.now(UTC)
    if row is None or row.revoked_at or not row.is_active or (row.expires_at and now >= row.expires_at):
        raise HTTPException(401, "Sign in first.")
    return Caller(request_id, row.user_id, frozenset(row.scopes) & frozenset(row.permissions))


def allowed(permission: str) -> Any:
    def check(context: Annotated[Caller, Depends(caller)]) -> Caller:
        if permission not in context.permissions:
            raise HTTPException(403, f"Needs {permission}.")
        return context

    return Depends(check)


PrReader = Annotated[Caller, allowed("pr.read")]
PrWriter = Annotated[Caller, allowed("pr.write")]
PrApprover = Annotated[Caller, allowed("pr.approve")]
InvoiceReader = Annotated[Caller, allowed("invoice.read")]

# ---------------------------------------------------------------- the views


def summary_fields(pr: PaymentRequest) -> dict[str, Any]:
    steps = [step for step in pr.steps if step.round == pr.approval_round]
    total = sum((invoice.total or Decimal(0) for invoice in pr.invoices), Decimal(0))
    return {
        **{column.key: getattr(pr, column.key) for column in schema.payment_requests.columns},
        "amount": money(pr.amount, pr.currency),
        "material_hash": pr.material_hash.hex(),
        "invoice_count": len(pr.invoices),
        "invoices_total": money(total, pr.currency),
        "steps": [
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
            for step in steps
        ],
    }


def view(pr: PaymentRequest) -> PaymentRequestView:
    invoices = [
        {
            "id": invoice.id,
            "reference": invoice.reference,
            "invoice_number": invoice.invoice_number,
            "vendor": invoice.vendor,
            "currency": invoice.currency,
            "total": money(invoice.total, invoice.currency) if invoice.total and invoice.currency else None,
            "status": invoice.status,
        }
        for invoice in pr.invoices
    ]
    return PaymentRequestView.model_validate({**summary_fields(pr), "invoices": invoices})


EAGER = (
    selectinload(PaymentRequest.steps).selectinload(ApprovalStep.approvals),
    selectinload(PaymentRequest.invoices),
)


def loaded(db: Session, pr_id: uuid.UUID) -> PaymentRequest:
    pr = db.get(PaymentRequest, pr_id, options=list(EAGER), populate_existing=True)
    if pr is None:
        raise HTTPException(404, "No payment request with this id.")
    return pr


# ---------------------------------------------------------------- the writes' bookkeeping


def next_number(db: Session, prefix: str, now: datetime) -> str:
    value = db.execute(
        text(
            "INSERT INTO document_counters (kind, year, last_value) VALUES (:kind, :year, 1) "
            "ON CONFLICT (kind, year) DO UPDATE SET last_value = document_counters.last_value + 1 "
            "RETURNING last_value"
        ),
        {"kind": prefix, "year": now.year},
    ).scalar_one()
    return f"{prefix}-{now.year}-{value:06d}"


CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
CHAIN_APPEND = text(
    """
    INSERT INTO audit_events (event_id, occurred_at, category, action, actor_id, entity_type, entity_id,
                              before, after, request_id, source_ip, user_agent, seq, hash)
    SELECT :event_id, :occurred_at, 'change', :action, :actor_id, :entity_type, :entity_id,
           NULL, CAST(:after AS jsonb), :request_id, NULL, NULL,
           coalesce(head.seq, 0) + 1, sha256(coalesce(head.hash, decode(repeat('00', 32), 'hex')) || :canonical)
    FROM (SELECT 1) one LEFT JOIN (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) head ON true
    """
)


def announce(db: Session, context: Caller, pr: PaymentRequest, action: str, op: str) -> None:
    """The change's audit event (appended to the hash chain) and its outbox row, in the transaction."""
    now = datetime.now(UTC)
    after = {"status": pr.status, "version": pr.version, "currentStep": pr.current_step}
    event_id = uuid.uuid4()
    fields = {
        "event_id": str(event_id),
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "category": "change",
        "action": action,
        "actor_id": str(context.user_id),
        "entity_type": "payment_request",
        "entity_id": str(pr.id),
        "before": None,
        "after": after,
        "request_id": context.request_id,
        "source_ip": None,
        "user_agent": None,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    db.execute(CHAIN_LOCK, {"key": 0x7061_7972_6571_0001})
    db.execute(
        CHAIN_APPEND,
        {
            "event_id": event_id,
            "occurred_at": now,
            "action": action,
            "actor_id": context.user_id,
            "entity_type": "payment_request",
            "entity_id": str(pr.id),
            "after": json.dumps(after),
            "request_id": context.request_id,
            "canonical": canonical,
        },
    )
    db.execute(
        schema.outbox.insert().values(
            event_id=uuid.uuid4(),
            entity="pr",
            entity_id=str(pr.id),
            op=op,
            version=pr.version,
            topics=["prs", f"pr:{pr.id}"],
        )
    )


def material_hash(amount: Decimal, currency: str, payee: str, flow: list[dict[str, Any]]) -> bytes:
    canonical = json.dumps(
        {"amount": str(amount.normalize()), "currency": currency, "payee": payee, "flow": flow, "invoices": []},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).digest()


# ---------------------------------------------------------------- the routes

app = FastAPI()


@app.get("/api/v1/prs/{pr_id}")
def get_request(pr_id: uuid.UUID, db: Db, _: PrReader) -> Response:
    return as_json(view(loaded(db, pr_id)))


@app.get("/api/v1/prs")
def list_requests(db: Db, _: PrReader, limit: int = 50) -> Response:
    query = (
        select(PaymentRequest)
        .options(*EAGER)
        .order_by(PaymentRequest.created_at.desc(), PaymentRequest.id.desc())
        .limit(limit)
    )
    items = [PaymentRequestSummary.model_validate(summary_fields(pr)) for pr in db.scalars(query)]
    return as_json(Page(items=items))


@app.post("/api/v1/prs", status_code=201)
def create_request(body: NewPaymentRequest, db: Db, context: PrWriter) -> Response:
    now = datetime.now(UTC)
    flow = [step.model_dump(mode="json") for step in body.approval_flow or ()]
    pr = PaymentRequest(
        id=uuid.uuid4(),
        number=next_number(db, "PR", now),
        **body.model_dump(exclude={"approval_flow"}),
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
    announce(db, context, pr, "pr.created", op="created")
    db.commit()
    return as_json(view(loaded(db, pr.id)), 201)


@app.post("/api/v1/prs/{pr_id}/approve")
def approve(
    pr_id: uuid.UUID,
    body: dict[str, Any],
    db: Db,
    context: PrApprover,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
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
    announce(db, context, pr, "pr.approval_given", op="updated")
    db.commit()
    return as_json(view(loaded(db, pr.id)))


@app.get("/api/v1/invoices")
def list_invoices(db: Db, _: InvoiceReader, limit: int = 50) -> Response:
    query = (
        select(Invoice)
        .options(selectinload(Invoice.links))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
        .limit(limit)
    )
    items = []
    for invoice in db.scalars(query):
        amounts = {
            name: money(getattr(invoice, name), invoice.currency)
            if getattr(invoice, name) is not None and invoice.currency
            else None
            for name in ("subtotal", "tax", "total")
        }
        items.append(
            InvoiceListItem.model_validate(
                {
                    "id": invoice.id,
                    "reference": invoice.reference,
                    "number": invoice.invoice_number,
                    "vendor": invoice.vendor,
                    "currency": invoice.currency,
                    "status": invoice.status,
                    "created_at": invoice.created_at,
                    "payment_request_id": invoice.links[0].payment_request_id if invoice.links else None,
                    **amounts,
                }
            )
        )
    return as_json(Page(items=items))


lambda_handler = Mangum(app, lifespan="off")
