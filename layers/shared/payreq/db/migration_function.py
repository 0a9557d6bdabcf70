"""The migration function: `payreq db upgrade` on every deploy, as a CloudFormation custom resource.

template.yaml's `DatabaseMigration` passes the shared layer's version ARN as a property: every deploy
that ships a new layer (the migrations live in it) changes it, so CloudFormation sends an Update and
this function migrates to head before the functions that depend on the resource get their new code.
Create and Update first put the database roles in place (`payreq.db.roles`, when the template names
their secrets), then migrate; Delete does nothing (removing a stack never drops data).

What keeps a deploy from hanging or wedging the stack:
- the answer always goes to CloudFormation, before the function's own deadline
  (`payreq.custom_resource`); the resource's `ServiceTimeout` bounds the wait should it still not;
- the template turns off Lambda's two asynchronous retries: a second run would answer a request
  CloudFormation already has an answer to;
- DDL gets a read timeout of its own (`DB_READ_TIMEOUT_SECONDS` in the template), not the API's 12 s;
- a database *ahead* of this code is a success, not an error: that is exactly what a rollback after
  a migrated deploy looks like (CloudFormation sends the old properties to the old code). Migrations
  are written to work with the code before them (add before use, stop using before drop), so the old
  code runs on the newer schema, and the stack rolls back cleanly instead of `UPDATE_ROLLBACK_FAILED`.

Invoked without a `ResponseURL` (`sam remote invoke MigrationFunction`), it migrates and returns the
revision. It connects as the schema's owner (`DB_USER` is the template's `DbOwnerUser`), never as
the functions' role. Its code is all in the layer, next to the migrations it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from payreq.custom_resource import Answer, Request, answer_before_deadline
from payreq.db import migrate, roles, transaction
from payreq.db.engine import get_engine
from payreq.observability import instrument, logger
from payreq.settings import RoleSettings, role_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from sqlalchemy.engine import Engine

PHYSICAL_ID = "payreq-database-schema"


@dataclass(frozen=True)
class Migrated:
    revision: str
    # True when the database was already at a revision this code does not know (a newer deploy's).
    ahead: bool = False


@instrument()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "ResponseURL" not in event:  # invoked by hand
        return {"revision": migrate_database(get_engine()).revision}
    request = Request.from_event(event)
    answer = answer_before_deadline(request, context, partial(on_request, request), physical_resource_id=PHYSICAL_ID)
    return {"status": answer.status, **answer.data}


def on_request(request: Request) -> Answer:
    if request.request_type == "Delete":
        return Answer("SUCCESS")
    try:
        engine = get_engine()
        settings = role_settings()
        if settings.app_role_secret_arn:
            with transaction(engine) as connection:
                roles.ensure_roles(connection, roles_from_secrets(settings))
        migrated = migrate_database(engine)
    except Exception as error:
        logger.exception("migration failed", extra={"request_type": request.request_type})
        return Answer("FAILED", f"migration failed: {' '.join(str(error).split())}")
    return Answer("SUCCESS", data={"Revision": migrated.revision})


def migrate_database(engine: Engine) -> Migrated:
    current = migrate.current_revision(engine)
    if current is not None and not migrate.is_known(current):
        logger.warning(
            "the database is ahead of this code: left as it is (a rollback, or an older deploy)",
            extra={"revision": current, "head": migrate.head_revision()},
        )
        return Migrated(current, ahead=True)
    migrate.upgrade("head")
    revision = migrate.current_revision(engine)
    if revision is None:
        raise RuntimeError("no revision recorded after the upgrade")
    logger.info("database migrated", extra={"from": current, "revision": revision})
    return Migrated(revision)


def roles_from_secrets(settings: RoleSettings) -> roles.Roles:
    """The roles to create, each with the password its Secrets Manager secret holds now."""
    from aws_lambda_powertools.utilities import parameters

    def password(secret_arn: str) -> str:
        # max_age=0: a password rotated a minute ago must not be set back to the old one.
        return str(parameters.get_secret(secret_arn, transform="json", max_age=0)["password"])

    if not settings.app_role_secret_arn:
        raise RuntimeError("DB_APP_ROLE_SECRET_ARN is not set")
    app = roles.LoginRole(settings.app_role, password(settings.app_role_secret_arn), roles.APP_TIMEOUTS)
    read = (
        roles.LoginRole(settings.read_role, password(settings.read_role_secret_arn), roles.READ_TIMEOUTS)
        if settings.read_role_secret_arn
        else None
    )
    return roles.Roles(app=app, read=read)
