"""Payment requests: create, read, list, edit, and the state transitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from sqlalchemy.engine import Connection

from payreq.db import get_engine, read_connection
from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey, change_and_respond
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from payreq.http.responses import created, json_response, no_content, ok
from payreq.http.versioning import IfMatch, etag, expected_version
from pr_api import flows
from pr_api.models import Decision, NewPaymentRequest, PaymentRequestChanges, PaymentRequestSummary, PaymentRequestView
from pr_api.records import PaymentRequestFilter

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from payreq.context import RequestContext
    from payreq.http.guard import HttpScope

    class DecisionFlow(Protocol):
        """approve, reject, unapprove: a decision on the version the caller read (a type only: a
        Protocol class would cost the cold start its creation)."""

        def __call__(
            self,
            connection: Connection,
            context: RequestContext,
            pr_id: uuid.UUID,
            *,
            read_version: int,
            now: datetime,
        ) -> None: ...


router = APIGatewayHttpRouter()
READ, WRITE, APPROVE = authorize("pr.read"), authorize("pr.write"), authorize("pr.approve")
Status = Literal["draft", "pending", "approved", "paid", "rejected", "cancelled"]


def respond(connection: Connection, pr_id: uuid.UUID, status: int = HTTPStatus.OK) -> Response[Any]:
    """The request as it now stands, read in the same transaction that changed it."""
    current = flows.view(connection, pr_id)
    headers = {"ETag": etag(current.version)}
    if status == HTTPStatus.CREATED:
        headers["Location"] = f"/api/v1/prs/{pr_id}"
    return json_response(status, current, headers=headers)


def now() -> datetime:
    return datetime.now(UTC)


def change_request(
    scope: HttpScope, pr_id: uuid.UUID, act: Callable[[Connection, RequestContext], object]
) -> Response[Any]:
    """Run a flow that changes the request, and answer the request as the change left it."""
    return change_and_respond(scope, act, lambda connection, _: respond(connection, pr_id))


@router.post(
    "/api/v1/prs",
    summary="Create a draft payment request",
    responses=created(PaymentRequestView),
    middlewares=[WRITE],
)
def create(request: NewPaymentRequest, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: flows.create(connection, context, request, now=now()),
        lambda connection, pr_id: respond(connection, pr_id, HTTPStatus.CREATED),
    )


@router.get("/api/v1/prs", summary="Payment requests, newest first", middlewares=[READ])
def list_requests(
    status: Status | None = None,
    requester: uuid.UUID | None = None,
    awaiting: Literal["me"] | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    amount_min: Annotated[Decimal | None, Query(alias="amountMin")] = None,
    amount_max: Annotated[Decimal | None, Query(alias="amountMax")] = None,
    created_from: Annotated[datetime | None, Query(alias="createdFrom")] = None,
    created_to: Annotated[datetime | None, Query(alias="createdTo")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[PaymentRequestSummary]:
    which = PaymentRequestFilter(
        status=status,
        requester=requester,
        awaiting=request_context(router).user_id if awaiting == "me" else None,
        text=q,
        amount_min=amount_min,
        amount_max=amount_max,
        created_from=created_from,
        created_to=created_to,
    )
    with read_connection(get_engine()) as connection:
        items, next_cursor = flows.page_of(connection, which, limit=limit, cursor=cursor)
    return Page[PaymentRequestSummary](items=items, next_cursor=next_cursor)


@router.get(
    "/api/v1/prs/<pr_id>",
    responses=ok(PaymentRequestView),
    summary="A payment request with its steps, approvals and invoices",
    middlewares=[READ],
)
def get_request(pr_id: uuid.UUID) -> Response[Any]:
    with read_connection(get_engine()) as connection:
        return respond(connection, pr_id)


@router.patch(
    "/api/v1/prs/<pr_id>",
    responses=ok(PaymentRequestView),
    summary="Edit a payment request (If-Match)",
    middlewares=[WRITE],
)
def edit(
    pr_id: uuid.UUID, changes: PaymentRequestChanges, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    version = expected_version(router)
    return change_request(
        router,
        pr_id,
        lambda connection, context: flows.edit(connection, context, pr_id, changes, version=version, now=now()),
    )


@router.post(
    "/api/v1/prs/<pr_id>/submit",
    responses=ok(PaymentRequestView),
    summary="Submit a draft for approval",
    middlewares=[WRITE],
)
def submit(pr_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_request(
        router, pr_id, lambda connection, context: flows.submit(connection, context, pr_id, now=now())
    )


@router.delete(
    "/api/v1/prs/<pr_id>",
    summary="Delete a draft",
    description="Only the requester, and only while it is a draft (409 otherwise; cancel a submitted request).",
    responses={HTTPStatus.NO_CONTENT: {"description": "Deleted"}},
    middlewares=[WRITE],
)
def delete(pr_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[str]:
    return change_and_respond(
        router,
        lambda connection, context: flows.delete(connection, context, pr_id),
        lambda _connection, _: no_content(),
    )


@router.post(
    "/api/v1/prs/<pr_id>/cancel",
    responses=ok(PaymentRequestView),
    summary="Cancel a payment request",
    middlewares=[WRITE],
)
def cancel(pr_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return change_request(
        router, pr_id, lambda connection, context: flows.cancel(connection, context, pr_id, now=now())
    )


# A decision binds to what the approver read: If-Match carries the ETag of that version, and the
# decision is refused (412) when the material terms changed after it.
_DECIDED_ON = (
    " Send `If-Match` with the ETag of the version you read: 428 without it, 412 when the amount, currency, "
    "payee, approval flow or linked invoices changed since (other approvers' decisions do not count)."
)


def _decide(pr_id: uuid.UUID, decide: DecisionFlow) -> Response[Any]:
    read = expected_version(router)
    return change_request(
        router, pr_id, lambda connection, context: decide(connection, context, pr_id, read_version=read, now=now())
    )


def _decision_route(action: str, summary: str, description: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The route of a decision: `POST /api/v1/prs/<pr_id>/{action}`, for approvers."""
    return router.post(
        f"/api/v1/prs/<pr_id>/{action}",
        responses=ok(PaymentRequestView),
        summary=f"{summary} (If-Match)",
        description=description + _DECIDED_ON,
        middlewares=[APPROVE],
    )


@_decision_route("approve", "Approve the current step", "Approve the current step of a pending request.")
def approve(
    pr_id: uuid.UUID, decision: Decision, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    return _decide(pr_id, partial(flows.approve, comment=decision.comment, on_behalf_of=decision.on_behalf_of))


@_decision_route("reject", "Reject the payment request", "Reject a pending request at its current step.")
def reject(
    pr_id: uuid.UUID, decision: Decision, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    return _decide(pr_id, partial(flows.reject, comment=decision.comment, on_behalf_of=decision.on_behalf_of))


@_decision_route(
    "unapprove",
    "Withdraw your approval",
    "Withdraw your own approvals until a payment is recorded: those you made (for yourself or on behalf of "
    "someone) and those a delegate made on your behalf.",
)
def unapprove(pr_id: uuid.UUID, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return _decide(pr_id, flows.unapprove)
