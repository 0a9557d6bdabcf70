"""Every change is announced twice, in the transaction that made it: an audit event (what changed,
by whom) and an outbox row (who should hear of it). `announce` writes both, so no flow can write
one without the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payreq.audit import record_change
from payreq.outbox import Operation, publish_change

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy.engine import Connection

    from payreq.context import RequestContext


@dataclass(frozen=True, slots=True)
class Announced:
    """How one kind of entity is audited and broadcast."""

    audit_type: str
    """The audit event's `entity_type` (`payment_request`)."""
    entity: str
    """The outbox entity, which names its WebSocket topics (`pr` → `prs`, `pr:<id>`)."""
    fields: tuple[str, ...]
    """The fields the audit log keeps; only those that changed are stored."""
    topics: Callable[[uuid.UUID, Any], Sequence[str]] | None = None
    """Topics for a change, from the entity's id and its record; the default is the entity's own."""

    def snapshot(self, record: Any) -> dict[str, Any]:
        """The audited fields of a record: a row mapping or a typed record with those attributes."""
        if _is_mapping(record):
            return {name: record[name] for name in self.fields}
        return {name: getattr(record, name) for name in self.fields}


def announce(
    connection: Connection,
    context: RequestContext,
    entity: Announced,
    op: Operation,
    *,
    action: str,
    entity_id: uuid.UUID,
    before: Any | None,
    after: Any | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Audit the change from `before` to `after` (either None for a create or a delete) and put it
    in the outbox. `extra` adds context to the audited `after` (the step decided, the invoice linked).

    The version announced is the one the change left (`after`'s), or the last one for a delete.
    """
    last = after if after is not None else before
    record_change(
        connection,
        context,
        action=action,
        entity_type=entity.audit_type,
        entity_id=entity_id,
        before=entity.snapshot(before) if before is not None else None,
        after={**entity.snapshot(after), **(extra or {})} if after is not None else None,
    )
    publish_change(
        connection,
        entity=entity.entity,
        entity_id=entity_id,
        op=op,
        version=_field(last, "version") if last is not None else None,
        topics=entity.topics(entity_id, last) if entity.topics is not None else None,
        action=action,
    )


def _is_mapping(record: Any) -> bool:
    return hasattr(record, "keys") and hasattr(record, "__getitem__")


def _field(record: Any, name: str) -> Any:
    if _is_mapping(record):
        return record.get(name) if hasattr(record, "get") else record[name]
    return getattr(record, name, None)
