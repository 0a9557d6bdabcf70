"""HTTP entry point of the audit function: the audit log, security events, export, chain verification."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from audit_api.routes import audit_events, security_events
from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = create_app("audit")
for routes in (audit_events, security_events):
    app.include_router(routes.router)


snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
