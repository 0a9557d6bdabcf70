"""The migration function: `payreq db upgrade` on every deploy, as a CloudFormation custom resource.

template.yaml's `DatabaseMigration` passes the shared layer's version ARN as a property: every deploy
that ships a new layer (the migrations live in it) changes it, so CloudFormation sends an Update and
this function migrates to head before the functions that depend on the resource get their new code.
Create and Update migrate; Delete does nothing (removing a stack never drops data). The outcome goes
to CloudFormation's pre-signed `ResponseURL`; a failed migration fails the deployment, which rolls
back, with the error's one line as the reason in the stack's events.

Invoked without a `ResponseURL` (`sam remote invoke MigrationFunction`), it migrates and returns the
revision. It connects as the schema's owner (`DB_USER` is the template's `DbOwnerUser`), never as
the functions' role. Its code is all in the layer, next to the migrations it runs.
"""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

from payreq.db import migrate
from payreq.db.engine import get_engine
from payreq.observability import instrument, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

PHYSICAL_ID = "payreq-database-schema"
_RESPONSE_TIMEOUT_SECONDS = 30


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_type = event.get("RequestType")
    if "ResponseURL" not in event:  # invoked by hand
        return {"revision": upgrade()}
    try:
        data = {"Revision": upgrade()} if request_type in ("Create", "Update") else {}
    except Exception as error:
        logger.exception("migration failed", extra={"request_type": request_type})
        respond(event, context, "FAILED", reason=f"migration failed: {' '.join(str(error).split())}"[:1000])
        return {"status": "FAILED"}
    respond(event, context, "SUCCESS", data=data)
    return {"status": "SUCCESS", **data}


def upgrade() -> str | None:
    migrate.upgrade("head")
    revision = migrate.current_revision(get_engine())
    logger.info("database migrated", extra={"revision": revision})
    return revision


def respond(
    event: dict[str, Any],
    context: LambdaContext,
    status: str,
    *,
    data: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """PUT the outcome to CloudFormation's pre-signed URL (no Content-Type: the signature has none)."""
    body = {
        "Status": status,
        "Reason": reason or f"see CloudWatch Logs: {context.log_group_name} {context.log_stream_name}",
        "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data or {},
    }
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "", "Content-Length": str(len(payload))}
    request = urllib.request.Request(event["ResponseURL"], data=payload, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=_RESPONSE_TIMEOUT_SECONDS) as response:
        response.read()
