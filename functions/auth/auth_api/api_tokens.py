"""API tokens for CLI and admin clients: issue (secret shown once), list, revoke.

Each flow runs on the caller's unit of work (the route's, or the operator CLI's)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from auth_api import repository
from payreq.audit import record_security_event
from payreq.errors import InvalidInput, detail, must_exist

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from auth_api.models import NewApiToken
    from auth_api.records import ApiTokenRecord
    from payreq.context import RequestContext


def issue(
    connection: Connection, context: RequestContext, request: NewApiToken, *, now: datetime
) -> tuple[ApiTokenRecord, str]:
    """The caller issues a token for themselves."""
    assert context.user_id is not None
    return _issue(connection, context, context.user_id, context.permissions, request, now=now)


def issue_for(
    connection: Connection, context: RequestContext, email: str, request: NewApiToken, *, now: datetime
) -> tuple[ApiTokenRecord, str]:
    """An operator (`payreq tokens issue`) issues a token for the user with this e-mail."""
    owner = must_exist(repository.user_by_email(connection, email), f"No user with the e-mail {email}.")
    return _issue(connection, context, owner.id, owner.permissions, request, now=now)


def _issue(
    connection: Connection,
    context: RequestContext,
    owner_id: uuid.UUID,
    held: Iterable[str],
    request: NewApiToken,
    *,
    now: datetime,
) -> tuple[ApiTokenRecord, str]:
    # A token can only carry what its owner holds: no one mints new powers, not even an operator.
    not_held = sorted(set(request.scopes) - set(held))
    if not_held:
        raise InvalidInput(
            "A token's scopes must be permissions its owner holds.",
            details=[
                detail("scopes", f"{scope} is not held by the token's owner", "scope_not_held") for scope in not_held
            ],
        )
    token, secret = repository.add_token(
        connection,
        owner_id,
        name=request.name,
        scopes=request.scopes,
        expires_at=now + timedelta(days=request.expires_in_days),
        now=now,
    )
    details = {"tokenId": str(token.id), "name": request.name, "scopes": list(token.scopes)}
    if owner_id != context.user_id:
        details["userId"] = str(owner_id)
    record_security_event(connection, context, "token_issued", details)
    return token, secret


def list_mine(connection: Connection, context: RequestContext) -> list[ApiTokenRecord]:
    assert context.user_id is not None
    return repository.tokens_of(connection, context.user_id)


def revoke(connection: Connection, context: RequestContext, token_id: uuid.UUID, *, now: datetime) -> ApiTokenRecord:
    """The caller revokes one of their own tokens."""
    assert context.user_id is not None
    return _revoke(connection, context, token_id, owner_id=context.user_id, now=now)


def revoke_any(
    connection: Connection, context: RequestContext, token_id: uuid.UUID, *, now: datetime
) -> ApiTokenRecord:
    """An operator (`payreq tokens revoke`) revokes anyone's token."""
    return _revoke(connection, context, token_id, owner_id=None, now=now)


def _revoke(
    connection: Connection, context: RequestContext, token_id: uuid.UUID, *, owner_id: uuid.UUID | None, now: datetime
) -> ApiTokenRecord:
    token = must_exist(
        repository.revoke_token(connection, token_id, owner_id=owner_id, now=now),
        "You have no API token with this id." if owner_id else "No API token with this id.",
    )
    if token.revoked_at == now:  # revoked by this call, not before
        record_security_event(connection, context, "token_revoked", {"tokenId": str(token_id)})
    return token
