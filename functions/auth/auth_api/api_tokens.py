"""API tokens for CLI and admin clients: issue (secret shown once), list, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from payreq.audit import record_security_event
from payreq.auth import api_tokens
from payreq.db import read_connection, transaction
from payreq.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Engine, RowMapping

    from auth_api.models import NewApiToken
    from payreq.context import RequestContext


def issue(engine: Engine, context: RequestContext, request: NewApiToken, *, now: datetime) -> tuple[RowMapping, str]:
    assert context.user_id is not None
    # A token can only carry what its owner holds: no one mints themselves new powers.
    not_held = sorted(set(request.scopes) - context.permissions)
    if not_held:
        raise InvalidInput("A token's scopes must be permissions you hold.", details={"notHeld": not_held})
    with transaction(engine) as connection:
        token, secret = api_tokens.issue_token(
            connection,
            context.user_id,
            name=request.name,
            scopes=request.scopes,
            expires_at=now + timedelta(days=request.expires_in_days),
            now=now,
        )
        record_security_event(
            connection,
            context,
            "token_issued",
            {"tokenId": str(token["id"]), "name": request.name, "scopes": list(token["scopes"])},
        )
    return token, secret


def list_mine(engine: Engine, context: RequestContext) -> list[RowMapping]:
    assert context.user_id is not None
    with read_connection(engine) as connection:
        return api_tokens.list_tokens(connection, context.user_id)


def revoke(engine: Engine, context: RequestContext, token_id: uuid.UUID, *, now: datetime) -> RowMapping:
    assert context.user_id is not None
    with transaction(engine) as connection:
        token = api_tokens.revoke_token(connection, token_id, user_id=context.user_id, now=now)
        if token is None:
            raise NotFound("You have no API token with this id.")
        if token["revoked_at"] == now:  # revoked by this call, not before
            record_security_event(connection, context, "token_revoked", {"tokenId": str(token_id)})
    return token
