"""HTTP entry point of the sync function (routes under /api/v1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from payreq import snapstart
from payreq.http import create_app
from payreq.observability import instrument
from sync_api.routes import sync

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = create_app("sync")
app.include_router(sync.router)


snapstart.register(app)


@instrument(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
