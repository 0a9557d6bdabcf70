"""Payment requests: create, read, list, edit, and the state transitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from payreq.http import authorize, request_context
from payreq.http.mutations import IdempotencyKey
from payreq.http.pagination import DEFAULT_LIMIT, Limit, Page
from payreq.http.resources import Resource, read_page
from payreq.http.versioning import IfMatch
from pr_api import flows
from pr_api.models import Decision, NewPaymentRequest, PaymentRequestChanges, PaymentRequestSummary, PaymentRequestView
from pr_api.records import PaymentRequestFilter

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext

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
WRITE = authorize("pr.write")
# Each change answers the request as it now stands (flows.view), read in the transaction that changed it.
REQUESTS = Resource(
    router, "/api/v1/prs", "pr_id", PaymentRequestView, flows.view, read=authorize("pr.read"), write=WRITE
)
Status = Literal["draft", "pending", "approved", "paid", "rejected", "cancelled"]


def now() -> datetime:
    return datetime.now(UTC)


REQUESTS.create_route("create", "Create a draft payment request", ("request", NewPaymentRequest), flows.create)


@REQUESTS.lists("Payment requests, newest first")
def list_requests(
    status: Status | None = None,
    requester: uuid.UUID | None = None,
    awaiting: Literal["me"] | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    amount_min: Annotated[Decimal | None, Query(alias="amountMin")] = None,
    amount_max: Annotated[Decimal | None, Query(alias="amountMax")] = None,
    created_from: Annotated[datetime | None, Query(alias="createdFrom")] = None,
    created_to: Annotated[datetime | None, Query(alias="createdTo")] = None,
    limit: Limit = DEFAULT_LIMIT,
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
    return read_page(Page[PaymentRequestSummary], flows.page_of, which, limit=limit, cursor=cursor)


REQUESTS.read_route("get_request", "A payment request with its steps, approvals and invoices")
REQUESTS.change_route("edit", "Edit a payment request (If-Match)", PaymentRequestChanges, flows.edit)


@REQUESTS.acts("submit", "Submit a draft for approval")
def submit(pr_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return REQUESTS.change(pr_id, lambda connection, context: flows.submit(connection, context, pr_id, now=now()))


@REQUESTS.removes(
    "Delete a draft",
    description="Only the requester, and only while it is a draft (409 otherwise; cancel a submitted request).",
)
def delete(pr_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return REQUESTS.remove(lambda connection, context: flows.delete(connection, context, pr_id))


@REQUESTS.acts("cancel", "Cancel a payment request")
def cancel(pr_id: uuid.UUID, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    return REQUESTS.change(pr_id, lambda connection, context: flows.cancel(connection, context, pr_id, now=now()))


# A decision binds to what the approver read: If-Match carries the ETag of that version, and the
# decision is refused (412) when the material terms changed after it.
_DECIDED_ON = (
    " Send `If-Match` with the ETag of the version you read: 428 without it, 412 when the amount, currency, "
    "payee, approval flow or linked invoices changed since (other approvers' decisions do not count)."
)
APPROVE = authorize("pr.approve")


def _decide(pr_id: uuid.UUID, decide: DecisionFlow) -> Response[Any]:
    return REQUESTS.change_read_version(
        pr_id, lambda connection, context, read: decide(connection, context, pr_id, read_version=read, now=now())
    )


def _decision_route(action: str, summary: str, description: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The route of a decision: `POST /api/v1/prs/<pr_id>/{action}`, for approvers."""
    return REQUESTS.acts(action, f"{summary} (If-Match)", description=description + _DECIDED_ON, guard=APPROVE)


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
