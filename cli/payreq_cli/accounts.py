"""`payreq users ...` and `payreq tokens ...`: the auth function's own flows, run by an operator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from payreq.db import get_engine, transaction
from payreq_cli.operator import operator_context

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auth_api.records import UserRecord


def create_user(email: str, name: str, permissions: Sequence[str]) -> str:
    from auth_api import user_admin
    from auth_api.models import NewUser

    request = NewUser(email=email, display_name=name, permissions=list(permissions))
    with transaction(get_engine()) as connection:
        user = user_admin.create(connection, operator_context("users create"), request, now=datetime.now(UTC))
    return f"created user {user.email} ({user.id}): {_permissions(user)}"


def grant(email: str, permissions: Sequence[str]) -> str:
    from auth_api import user_admin

    _check_names(permissions)
    with transaction(get_engine()) as connection:
        user = user_admin.grant(connection, operator_context("users grant"), email, permissions, now=datetime.now(UTC))
    return f"{user.email} now holds: {_permissions(user)}"


def revoke(email: str, permissions: Sequence[str]) -> str:
    from auth_api import user_admin

    _check_names(permissions)
    with transaction(get_engine()) as connection:
        user = user_admin.revoke(
            connection, operator_context("users revoke"), email, permissions, now=datetime.now(UTC)
        )
    return f"{user.email} now holds: {_permissions(user)}"


def link_identity(email: str, issuer: str, subject: str) -> str:
    from auth_api import user_admin
    from payreq.auth.identities import ProvenIdentity

    identity = ProvenIdentity(issuer=issuer, subject=subject, email=None, email_verified=False)
    with transaction(get_engine()) as connection:
        user = user_admin.link_identity(
            connection, operator_context("users link"), email, identity, now=datetime.now(UTC)
        )
    return f"{issuer} subject {subject} signs in as {user.email} ({user.id})"


def issue_token(email: str, name: str, scopes: Sequence[str], days: int) -> tuple[str, str]:
    """A line about the token, and its secret (printed once, never retrievable again)."""
    from auth_api import api_tokens
    from auth_api.models import NewApiToken

    request = NewApiToken(name=name, scopes=list(scopes), expires_in_days=days)
    with transaction(get_engine()) as connection:
        token, secret = api_tokens.issue_for(
            connection, operator_context("tokens issue"), email, request, now=datetime.now(UTC)
        )
    about = (
        f"issued token {token.id} '{token.name}' for {email}: {' '.join(token.scopes)}, "
        f"expires {token.expires_at:%Y-%m-%d}; the secret below is shown once"
    )
    return about, secret


def revoke_token(token_id: str) -> str:
    from auth_api import api_tokens

    try:
        identifier = uuid.UUID(token_id)
    except ValueError:
        raise ValueError(f"{token_id!r} is not a token id (a UUID, as `tokens issue` printed it)") from None
    with transaction(get_engine()) as connection:
        token = api_tokens.revoke_any(connection, operator_context("tokens revoke"), identifier, now=datetime.now(UTC))
    assert token.revoked_at is not None
    return f"token {token.id} '{token.name}' revoked at {token.revoked_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _check_names(permissions: Sequence[str]) -> None:
    # The same rule as a user's permissions in the API (UserChanges), so a typo fails here, not later.
    from auth_api.models import UserChanges

    UserChanges(permissions=list(permissions))


def _permissions(user: UserRecord) -> str:
    return " ".join(user.permissions) or "(no permissions)"
