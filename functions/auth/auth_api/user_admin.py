"""Administering users: listing them, and changing their permissions, name or status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payreq.audit import record_change
from payreq.auth.users import get_user, list_users, set_permissions, update_user
from payreq.db import read_connection, transaction
from payreq.errors import NotFound, PreconditionFailed
from payreq.http.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Engine, RowMapping

    from auth_api.models import UserChanges
    from payreq.context import RequestContext


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
                details={"currentVersion": before["version"]},
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


def _audited(user: RowMapping) -> dict[str, Any]:
    return {key: user[key] for key in ("display_name", "is_active", "permissions", "version")}
