"""HTTP entry point of the invoice function: invoices, their status, attachment upload/download URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from invoice_api.routes import attachments, invoices
from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = create_app("invoice")
# attachments first: POST /api/v1/invoices/uploads must not be read as an invoice id.
for routes in (attachments, invoices):
    app.include_router(routes.router)


snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
