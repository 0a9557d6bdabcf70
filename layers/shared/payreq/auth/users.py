"""Users and their permissions: the queries every sign-in path and the admin routes share."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by

from payreq.card_numbers import mask
from payreq.db.schema import user_permissions, users

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.engine import Connection, RowMapping


def credential_by_hash(table: str, columns: str) -> str:
    """The authorizer's probe of a credential table (`sessions`, `api_tokens`, aliased `c`) by its
    secret's digest: `columns` of the credential, its user's state and permissions sorted into an
    array. One unique-index probe on token_hash (the digest is `$1`), written out rather than built
    with Core (no statement building or cache key per request), run straight on the driver in one
    round trip (payreq.db.one_round_trip)."""
    return f"""
SELECT {columns}, u.is_active,
       coalesce((SELECT array_agg(p.permission ORDER BY p.permission)
                 FROM user_permissions p WHERE p.user_id = c.user_id), '{{}}'::text[]) AS permissions
FROM {table} c JOIN users u ON u.id = c.user_id
WHERE c.token_hash = $1"""


def permissions_of(user_id: Any) -> Any:
    """The permissions of the user `user_id` names (a column of the outer query), sorted, as an array."""
    return (
        select(
            func.coalesce(
                func.array_agg(aggregate_order_by(user_permissions.c.permission, user_permissions.c.permission)),
                literal_column("'{}'::text[]"),
            )
        )
        .where(user_permissions.c.user_id == user_id)
        .scalar_subquery()
    )


def _with_permissions() -> Any:
    return select(users, permissions_of(users.c.id).label("permissions"))


def get_user(connection: Connection, user_id: uuid.UUID, *, for_update: bool = False) -> RowMapping | None:
    query = _with_permissions().where(users.c.id == user_id)
    if for_update:
        query = query.with_for_update(of=users)
    return connection.execute(query).mappings().one_or_none()


def find_user_by_email(connection: Connection, email: str) -> RowMapping | None:
    query = _with_permissions().where(func.lower(users.c.email) == email.lower())
    return connection.execute(query).mappings().one_or_none()


def create_user(
    connection: Connection,
    *,
    email: str,
    display_name: str,
    permissions: Iterable[str],
    granted_by: uuid.UUID | None = None,
    now: datetime,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    user_id = user_id or uuid.uuid4()
    # A name can come from an identity provider's claims rather than a request body (which refuses
    # card numbers): whatever a person typed there, no card number is stored.
    name = mask(display_name)
    connection.execute(insert(users).values(id=user_id, email=email, display_name=name, created_at=now, updated_at=now))
    set_permissions(connection, user_id, permissions, granted_by=granted_by)
    return user_id


def update_user(connection: Connection, user_id: uuid.UUID, *, now: datetime, **values: Any) -> None:
    """Change the user's columns and bump its version (every change is a new version)."""
    connection.execute(
        update(users).where(users.c.id == user_id).values(**values, updated_at=now, version=users.c.version + 1)
    )


def set_permissions(
    connection: Connection, user_id: uuid.UUID, permissions: Iterable[str], *, granted_by: uuid.UUID | None
) -> None:
    """Make the user's permissions exactly `permissions`."""
    wanted = sorted(set(permissions))
    connection.execute(
        delete(user_permissions).where(
            user_permissions.c.user_id == user_id, user_permissions.c.permission.not_in(wanted)
        )
    )
    if wanted:
        held = set(
            connection.scalars(select(user_permissions.c.permission).where(user_permissions.c.user_id == user_id))
        )
        new = [{"user_id": user_id, "permission": p, "granted_by": granted_by} for p in wanted if p not in held]
        if new:
            connection.execute(insert(user_permissions), new)


def list_users(connection: Connection, *, limit: int, after: tuple[str, str] | None) -> list[RowMapping]:
    """Users ordered by email (then id), the page after `after`."""
    key = tuple_(func.lower(users.c.email), users.c.id)
    query = _with_permissions().order_by(func.lower(users.c.email), users.c.id).limit(limit)
    if after is not None:
        query = query.where(key > tuple_(after[0], uuid.UUID(after[1])))
    return list(connection.execute(query).mappings())
