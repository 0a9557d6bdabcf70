"""Idempotency keys: a retried request (same key, same body) gets the first response again.

The key is checked and the response stored in the transaction of the change itself, so either
both commit or neither does. A transaction-scoped advisory lock on the key makes a concurrent
duplicate fail fast with 409 instead of waiting (and never pins an RDS Proxy session).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from payreq.db.records import record, record_or_none
from payreq.db.schema import idempotency_keys
from payreq.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Connection

KEEP_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: Any


@record
class _KeyUse:
    """A key's earlier use: the request it came with, and the response stored for it."""

    request_hash: bytes
    response_status: int
    response_headers: dict[str, str] | None
    response_body: str | None


def fingerprint(*parts: str | bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.digest()


def claim(
    connection: Connection, *, user_id: uuid.UUID, key: str, request: bytes, now: datetime
) -> StoredResponse | None:
    """Take the key for this transaction; the stored response if the request was already done."""
    lock = int.from_bytes(fingerprint(str(user_id), key)[:8], "big", signed=True)
    if not connection.scalar(select(func.pg_try_advisory_xact_lock(lock))):
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code="idempotency_in_progress",
        )
    earlier = record_or_none(
        _KeyUse,
        connection.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.user_id == user_id,
                idempotency_keys.c.key == key,
                idempotency_keys.c.expires_at > now,
            )
        )
        .mappings()
        .one_or_none(),
    )
    if earlier is None:
        return None
    if earlier.request_hash != request:
        raise InvalidInput(
            "This Idempotency-Key was already used for a different request.", code="idempotency_key_reused"
        )
    return StoredResponse(
        earlier.response_status,
        dict(earlier.response_headers or {}),
        json.loads(earlier.response_body) if earlier.response_body else None,
    )


def remember(
    connection: Connection, *, user_id: uuid.UUID, key: str, request: bytes, response: StoredResponse, now: datetime
) -> None:
    values = {
        "request_hash": request,
        "state": "completed",
        "response_status": response.status,
        "response_headers": response.headers,
        "response_body": json.dumps(response.body),
        "created_at": now,
        "expires_at": now + KEEP_FOR,
    }
    connection.execute(
        insert(idempotency_keys)
        .values(user_id=user_id, key=key, **values)
        .on_conflict_do_update(index_elements=[idempotency_keys.c.user_id, idempotency_keys.c.key], set_=values)
    )
