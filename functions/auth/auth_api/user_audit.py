"""A user's change in the audit log: which of a user's fields each kind of change records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payreq.audit import record_change

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

    from auth_api.records import UserRecord
    from payreq.context import RequestContext

# What an administrator may change, and the version the change made.
ADMINISTERED = ("display_name", "is_active", "permissions", "version")
# A user as sign-in creates or updates them.
SIGNED_IN = ("email", "display_name", "is_active", "permissions")


def record_user_change(
    connection: Connection,
    context: RequestContext,
    action: str,
    user_id: uuid.UUID,
    *,
    before: UserRecord | None,
    after: UserRecord | None,
    fields: Sequence[str],
) -> None:
    record_change(
        connection,
        context,
        action=action,
        entity_type="user",
        entity_id=user_id,
        before=_fields(before, fields),
        after=_fields(after, fields),
    )


def _fields(user: UserRecord | None, names: Sequence[str]) -> dict[str, Any] | None:
    return None if user is None else {name: getattr(user, name) for name in names}
