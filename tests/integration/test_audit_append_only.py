"""The audit log is append-only in the database itself, not only by the application's good manners."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DatabaseError

from payreq.audit import record_security_event
from payreq.context import RequestContext
from payreq.db import transaction
from payreq.db.schema import audit_events

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@pytest.fixture
def one_event(engine: Engine) -> None:
    with transaction(engine) as connection:
        record_security_event(connection, RequestContext(request_id="req-1"), "login_failed", {"email": "x@y.z"})


@pytest.mark.parametrize(
    "statement",
    [
        update(audit_events).values(action="login_succeeded"),
        delete(audit_events),
        text("TRUNCATE audit_events"),
    ],
    ids=["update", "delete", "truncate"],
)
@pytest.mark.usefixtures("one_event")
def test_audit_events_refuse_to_be_changed_or_removed(engine: Engine, statement: object) -> None:
    # When anyone tries to rewrite or remove history
    with pytest.raises(DatabaseError, match="append-only"), transaction(engine) as connection:
        connection.execute(statement)  # type: ignore[call-overload]

    # Then the event is still there, unchanged
    with engine.connect() as connection:
        actions = connection.scalars(select(audit_events.c.action)).all()
        count = connection.scalar(select(func.count()).select_from(audit_events))
    assert (actions, count) == (["login_failed"], 1)
