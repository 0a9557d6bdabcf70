"""Administering users: listing them, creating them (operators), and changing their permissions,
name or status.

Each flow runs on the caller's unit of work (the route's, or the operator CLI's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auth_api import repository
from auth_api.models import UserChanges
from auth_api.user_audit import ADMINISTERED, record_user_change
from payreq.audit import record_security_event
from payreq.auth.identities import bind, bound_user
from payreq.auth.live_connections import drop_connections_of_user
from payreq.auth.users import create_user, set_permissions
from payreq.errors import Conflict, ensure_version, must_exist
from payreq.http.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from auth_api.models import NewUser
    from auth_api.records import UserRecord, UserUpdate
    from payreq.auth.identities import ProvenIdentity
    from payreq.context import RequestContext


def link_identity(
    connection: Connection, context: RequestContext, email: str, identity: ProvenIdentity, *, now: datetime
) -> UserRecord:
    """Bind `(issuer, subject)` to the user with `email`: how an operator admits someone of an issuer
    whose first sign-in may not link by email. Idempotent; an identity bound to someone else is a
    conflict (moving it would hand that person's account over)."""
    user = must_exist(repository.user_by_email(connection, email), f"No user has the e-mail address {email}.")
    owner = bound_user(connection, identity)
    if owner is not None and owner != user.id:
        raise Conflict("This identity already belongs to another user.", code="identity_taken")
    if owner is None:
        bind(connection, identity, user.id, linked_email=None, now=now)
        record_security_event(
            connection,
            context,
            "identity_linked",
            {"issuer": identity.issuer, "subject": identity.subject, "user": str(user.id), "by": "operator"},
        )
    return user


def page_of_users(connection: Connection, *, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
    after = decode_cursor(cursor)
    found = repository.users_by_email(
        connection, limit=limit + 1, after=(str(after[0]), str(after[1])) if after else None
    )
    more, page = len(found) > limit, found[:limit]
    last = page[-1] if page else None
    return page, encode_cursor(last.email.lower(), str(last.id)) if more and last else None


def change_user(
    connection: Connection,
    context: RequestContext,
    user_id: uuid.UUID,
    changes: UserChanges,
    *,
    version: int,
    now: datetime,
) -> UserRecord:
    before = must_exist(repository.user(connection, user_id, for_update=True), "No user with this id.")
    ensure_version(before.version, version, "The user changed since you read it; reload and apply your change again.")
    if changes.permissions is not None:
        set_permissions(connection, user_id, changes.permissions, granted_by=context.user_id)
    if changes.is_active is False:
        drop_connections_of_user(connection, user_id)
    # Any change, permissions included, makes a new version of the user.
    repository.update_user(connection, user_id, changed_columns(changes), now=now)
    after = repository.user(connection, user_id)
    assert after is not None
    record_user_change(connection, context, "user.updated", user_id, before=before, after=after, fields=ADMINISTERED)
    return after


def changed_columns(changes: UserChanges) -> UserUpdate:
    """The user's own columns the request set (a field sent as null included, as sent)."""
    update: UserUpdate = {}
    if "display_name" in changes.model_fields_set:
        update["display_name"] = changes.display_name
    if "is_active" in changes.model_fields_set:
        update["is_active"] = changes.is_active
    return update


def create(
    connection: Connection,
    context: RequestContext,
    request: NewUser,
    *,
    now: datetime,
    user_id: uuid.UUID | None = None,
) -> UserRecord:
    """A user made by an operator (`payreq users create`), before their first sign-in; Google
    sign-in later attaches to them by e-mail. `user_id` is for the demo users, whose ids are fixed."""
    if repository.user_by_email(connection, request.email) is not None:
        raise Conflict(f"A user with the e-mail {request.email} already exists.", code="user_exists")
    user_id = create_user(
        connection,
        email=request.email,
        display_name=request.display_name,
        permissions=request.permissions,
        granted_by=context.user_id,
        now=now,
        user_id=user_id,
    )
    user = repository.user(connection, user_id)
    assert user is not None
    record_user_change(
        connection, context, "user.created", user_id, before=None, after=user, fields=("email", *ADMINISTERED)
    )
    return user


def grant(
    connection: Connection, context: RequestContext, email: str, permissions: Iterable[str], *, now: datetime
) -> UserRecord:
    """Add permissions to the user's (a change of the user, as through the admin route)."""
    user = _by_email(connection, email)
    wanted = sorted(set(user.permissions) | set(permissions))
    return change_user(connection, context, user.id, UserChanges(permissions=wanted), version=user.version, now=now)


def revoke(
    connection: Connection, context: RequestContext, email: str, permissions: Iterable[str], *, now: datetime
) -> UserRecord:
    """Take permissions away from the user (a change of the user, as through the admin route)."""
    user = _by_email(connection, email)
    wanted = sorted(set(user.permissions) - set(permissions))
    return change_user(connection, context, user.id, UserChanges(permissions=wanted), version=user.version, now=now)


def _by_email(connection: Connection, email: str) -> UserRecord:
    return must_exist(repository.user_by_email(connection, email), f"No user with the e-mail {email}.")
