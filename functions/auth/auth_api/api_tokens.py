"""API tokens for CLI and admin clients: issue (secret shown once), list, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from payreq.audit import record_security_event
from payreq.auth import api_tokens
from payreq.auth.users import find_user_by_email
from payreq.db import read_connection, transaction
from payreq.errors import InvalidInput, NotFound, detail

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.engine import Connection, Engine, RowMapping

    from auth_api.models import NewApiToken
    from payreq.context import RequestContext


def issue(engine: Engine, context: RequestContext, request: NewApiToken, *, now: datetime) -> tuple[RowMapping, str]:
    """The caller issues a token for themselves."""
    assert context.user_id is not None
    with transaction(engine) as connection:
        return _issue(connection, context, context.user_id, context.permissions, request, now=now)


def issue_for(
    engine: Engine, context: RequestContext, email: str, request: NewApiToken, *, now: datetime
) -> tuple[RowMapping, str]:
    """An operator (`payreq tokens issue`) issues a token for the user with this e-mail."""
    with transaction(engine) as connection:
        owner = find_user_by_email(connection, email)
        if owner is None:
            raise NotFound(f"No user with the e-mail {email}.")
        return _issue(connection, context, owner["id"], owner["permissions"], request, now=now)


def _issue(
    connection: Connection,
    context: RequestContext,
    owner_id: uuid.UUID,
    held: Iterable[str],
    request: NewApiToken,
    *,
    now: datetime,
) -> tuple[RowMapping, str]:
    # A token can only carry what its owner holds: no one mints new powers, not even an operator.
    not_held = sorted(set(request.scopes) - set(held))
    if not_held:
        raise InvalidInput(
            "A token's scopes must be permissions its owner holds.",
            details=[
                detail("scopes", f"{scope} is not held by the token's owner", "scope_not_held") for scope in not_held
            ],
        )
    token, secret = api_tokens.issue_token(
        connection,
        owner_id,
        name=request.name,
        scopes=request.scopes,
        expires_at=now + timedelta(days=request.expires_in_days),
        now=now,
    )
    details = {"tokenId": str(token["id"]), "name": request.name, "scopes": list(token["scopes"])}
    if owner_id != context.user_id:
        details["userId"] = str(owner_id)
    record_security_event(connection, context, "token_issued", details)
    return token, secret


def list_mine(engine: Engine, context: RequestContext) -> list[RowMapping]:
    assert context.user_id is not None
    with read_connection(engine) as connection:
        return api_tokens.list_tokens(connection, context.user_id)


def revoke(engine: Engine, context: RequestContext, token_id: uuid.UUID, *, now: datetime) -> RowMapping:
    """The caller revokes one of their own tokens."""
    assert context.user_id is not None
    return _revoke(engine, context, token_id, owner_id=context.user_id, now=now)


def revoke_any(engine: Engine, context: RequestContext, token_id: uuid.UUID, *, now: datetime) -> RowMapping:
    """An operator (`payreq tokens revoke`) revokes anyone's token."""
    return _revoke(engine, context, token_id, owner_id=None, now=now)


def _revoke(
    engine: Engine, context: RequestContext, token_id: uuid.UUID, *, owner_id: uuid.UUID | None, now: datetime
) -> RowMapping:
    with transaction(engine) as connection:
        token = api_tokens.revoke_token(connection, token_id, user_id=owner_id, now=now)
        if token is None:
            raise NotFound("You have no API token with this id." if owner_id else "No API token with this id.")
        if token["revoked_at"] == now:  # revoked by this call, not before
            record_security_event(connection, context, "token_revoked", {"tokenId": str(token_id)})
    return token
