"""Rows the tests need, inserted the way an operator would: straight into the tables."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import insert

from payreq.db.schema import user_permissions, users

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def insert_user(
    connection: Connection, *, email: str | None = None, name: str = "Test User", permissions: tuple[str, ...] = ()
) -> uuid.UUID:
    user_id = uuid.uuid4()
    connection.execute(
        insert(users).values(id=user_id, email=email or f"{user_id.hex[:8]}@example.com", display_name=name)
    )
    if permissions:
        connection.execute(insert(user_permissions), [{"user_id": user_id, "permission": p} for p in permissions])
    return user_id
