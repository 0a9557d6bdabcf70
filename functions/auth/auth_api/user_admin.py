"""Administering users: listing them, creating them (operators), and changing their permissions,
name or status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auth_api.models import UserChanges
from payreq.audit import record_change, record_security_event
from payreq.auth.identities import bind, bound_user
from payreq.auth.users import create_user, find_user_by_email, get_user, list_users, set_permissions, update_user
from payreq.db import read_connection, transaction
from payreq.errors import Conflict, NotFound, PreconditionFailed, stale_version
from payreq.http.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.engine import Engine, RowMapping

    from auth_api.models import NewUser
    from payreq.auth.identities import ProvenIdentity
    from payreq.context import RequestContext


def link_identity(
    engine: Engine, context: RequestContext, email: str, identity: ProvenIdentity, *, now: datetime
) -> RowMapping:
    """Bind `(issuer, subject)` to the user with `email`: how an operator admits someone of an issuer
    whose first sign-in may not link by email. Idempotent; an identity bound to someone else is a
    conflict (moving it would hand that person's account over)."""
    with transaction(engine) as connection:
        user = find_user_by_email(connection, email)
        if user is None:
            raise NotFound(f"No user has the e-mail address {email}.")
        owner = bound_user(connection, identity)
        if owner is not None and owner != user["id"]:
            raise Conflict("This identity already belongs to another user.", code="identity_taken")
        if owner is None:
            bind(connection, identity, user["id"], linked_email=None, now=now)
            record_security_event(
                connection,
                context,
                "identity_linked",
                {"issuer": identity.issuer, "subject": identity.subject, "user": str(user["id"]), "by": "operator"},
            )
        return user


def page_of_users(engine: Engine, *, limit: int, cursor: str | None) -> tuple[list[RowMapping], str | None]:
    after = decode_cursor(cursor)
    with read_connection(engine) as connection:
        rows = list_users(connection, limit=limit + 1, after=(str(after[0]), str(after[1])) if after else None)
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if rows else None
    return rows, encode_cursor(last["email"].lower(), str(last["id"])) if more and last else None


def change_user(
    engine: Engine, context: RequestContext, user_id: uuid.UUID, changes: UserChanges, *, version: int, now: datetime
) -> RowMapping:
    with transaction(engine) as connection:
        before = get_user(connection, user_id, for_update=True)
        if before is None:
            raise NotFound("No user with this id.")
        if before["version"] != version:
            raise PreconditionFailed(
                "The user changed since you read it; reload and apply your change again.",
                details=[stale_version(before["version"])],
            )
        columns: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"permissions"})
        if changes.permissions is not None:
            set_permissions(connection, user_id, changes.permissions, granted_by=context.user_id)
        # Any change, permissions included, makes a new version of the user.
        update_user(connection, user_id, now=now, **columns)
        after = get_user(connection, user_id)
        assert after is not None
        record_change(
            connection,
            context,
            action="user.updated",
            entity_type="user",
            entity_id=user_id,
            before=_audited(before),
            after=_audited(after),
        )
    return after


def create(
    engine: Engine, context: RequestContext, request: NewUser, *, now: datetime, user_id: uuid.UUID | None = None
) -> RowMapping:
    """A user made by an operator (`payreq users create`), before their first sign-in; Google
    sign-in later attaches to them by e-mail. `user_id` is for the demo users, whose ids are fixed."""
    with transaction(engine) as connection:
        if find_user_by_email(connection, request.email) is not None:
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
        user = get_user(connection, user_id)
        assert user is not None
        record_change(
            connection,
            context,
            action="user.created",
            entity_type="user",
            entity_id=user_id,
            after={"email": user["email"], **_audited(user)},
        )
    return user


def grant(
    engine: Engine, context: RequestContext, email: str, permissions: Iterable[str], *, now: datetime
) -> RowMapping:
    """Add permissions to the user's (a change of the user, as through the admin route)."""
    user = _by_email(engine, email)
    wanted = sorted(set(user["permissions"]) | set(permissions))
    return change_user(engine, context, user["id"], UserChanges(permissions=wanted), version=user["version"], now=now)


def revoke(
    engine: Engine, context: RequestContext, email: str, permissions: Iterable[str], *, now: datetime
) -> RowMapping:
    """Take permissions away from the user (a change of the user, as through the admin route)."""
    user = _by_email(engine, email)
    wanted = sorted(set(user["permissions"]) - set(permissions))
    return change_user(engine, context, user["id"], UserChanges(permissions=wanted), version=user["version"], now=now)


def _by_email(engine: Engine, email: str) -> RowMapping:
    with read_connection(engine) as connection:
        user = find_user_by_email(connection, email)
    if user is None:
        raise NotFound(f"No user with the e-mail {email}.")
    return user


def _audited(user: RowMapping) -> dict[str, Any]:
    return {key: user[key] for key in ("display_name", "is_active", "permissions", "version")}
