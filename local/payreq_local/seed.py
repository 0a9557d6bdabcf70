"""Demo data for a local run: a few people with the permissions to walk every flow.

Inserted straight into the tables, as an operator would; idempotent (matched by e-mail), so every
`make run` may seed. Payment requests and invoices are for their flows to create.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from payreq.db.schema import user_permissions, users

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEMO_USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alice@example.com": (
        "Alice Requester",
        ("pr.read", "pr.write", "invoice.read", "invoice.write", "tokens.manage"),
    ),
    "bob@example.com": ("Bob Approver", ("pr.read", "pr.approve", "invoice.read", "tokens.manage")),
    "carol@example.com": (
        "Carol Finance",
        (
            "pr.read",
            "pr.approve",
            "invoice.read",
            "invoice.write",
            "payment.read",
            "payment.write",
            "audit.read",
            "flows.manage",
            "users.admin",
            "tokens.manage",
        ),
    ),
}


def seed(engine: Engine) -> dict[str, uuid.UUID]:
    """Make sure the demo users exist with (at least) their permissions; their ids by e-mail."""
    ids: dict[str, uuid.UUID] = {}
    with engine.begin() as connection:
        for email, (name, permissions) in DEMO_USERS.items():
            user_id = connection.scalar(select(users.c.id).where(func.lower(users.c.email) == email))
            if user_id is None:
                user_id = uuid.uuid4()
                connection.execute(insert(users).values(id=user_id, email=email, display_name=name))
            connection.execute(
                pg_insert(user_permissions)
                .values([{"user_id": user_id, "permission": permission} for permission in permissions])
                .on_conflict_do_nothing()
            )
            ids[email] = user_id
    return ids
