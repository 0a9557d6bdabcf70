"""HTTP entry point of the pr function: payment requests, their approvals, approval flow templates and
approval delegations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument
from pr_api.routes import approval_flows, delegations, invoice_links, payment_requests

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = create_app("pr")
for routes in (payment_requests, invoice_links, approval_flows, delegations):
    app.include_router(routes.router)


snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
