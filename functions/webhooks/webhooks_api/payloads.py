"""What a webhook says: the Standard Webhooks payload shape (`type`, `timestamp`, `data`), whose
`data` is the outbox event with the entity as it is when the event is fanned out.

The entity is read from its table here, not through the owning function's API models: functions do
not import each other's code. It shows the same fields the API does, camelCase, amounts as decimal
strings in their currency's precision; internal columns (search keys, fingerprints) are left out.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic.alias_generators import to_camel

from payreq.money import format_amount

if TYPE_CHECKING:
    from webhooks_api.records import OutboxEvent

# Columns that are bookkeeping, not part of what the API shows.
_HIDDEN: dict[str, frozenset[str]] = {
    "pr": frozenset({"material_hash", "material_version"}),
    "invoice": frozenset({"invoice_number_key", "vendor_key"}),
    "payment": frozenset(),
    "payment_method": frozenset(),
    "delegation": frozenset(),
}
# Amounts, by the column that holds their currency.
_MONEY = {
    "amount": "currency",
    "subtotal": "currency",
    "tax": "currency",
    "total": "currency",
    "amount_limit": "limit_currency",
}


def payload(event: OutboxEvent, row: dict[str, Any] | None) -> str:
    """The body every attempt of this event's deliveries sends, byte for byte (signatures cover it)."""
    body = {
        "type": event.event_type,
        "timestamp": _time(event.occurred_at),
        "data": {
            "eventId": str(event.event_id),
            "entity": event.entity,
            "id": event.entity_id,
            "op": event.op,
            "version": event.version,
            # None once the entity is deleted: the event still says what happened to which id.
            "object": representation(event.entity, row) if row is not None else None,
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def representation(entity: str, row: dict[str, Any]) -> dict[str, Any]:
    hidden = _HIDDEN.get(entity, frozenset())
    shown: dict[str, Any] = {}
    for name, value in row.items():
        if name in hidden:
            continue
        currency = row.get(_MONEY.get(name, ""))
        if isinstance(value, Decimal) and isinstance(currency, str):
            shown[to_camel(name)] = format_amount(value, currency)
        else:
            shown[to_camel(name)] = _plain(value)
    return shown


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
