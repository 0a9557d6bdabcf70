"""The audit log's hash chain: each event's hash covers the previous event's hash and the event itself.

    hash(1) = SHA-256(32 zero bytes || canonical(event 1))
    hash(n) = SHA-256(hash(n - 1)   || canonical(event n))

`seq` numbers the chain without gaps (1, 2, 3, ...), so a removed event shows as a gap as well as a
broken link. Editing, removing or reordering any event breaks every hash after it; rewriting the
whole tail consistently is what anchoring the head outside the database (`audit_api.anchor`) catches.

The canonical form is the hashed fields (every column but `id`, `seq` and `hash`) as one JSON object:
keys sorted, no whitespace, UTF-8, non-ASCII kept as is, and each value exactly as it reads back from
the database: UUIDs lowercase, `occurred_at` as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`, JSONB after
PostgreSQL's own normalisation of numbers (`stored_json`). So what is hashed at insert is what any
verifier recomputes from the row, with no help from this code. This form is a format: changing it
would make every stored hash unverifiable, so it never changes.

Appends are serialised by a transaction-scoped advisory lock (never a session lock: those pin an
RDS Proxy connection), taken at the last moment, in `append_event`, and held until commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Integer, LargeBinary, bindparam, func, insert, literal, literal_column, select, text, true

from payreq.db.records import record, record_or_none
from payreq.db.schema import audit_events

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterator, Mapping

    from sqlalchemy import Insert
    from sqlalchemy.engine import Connection, RowMapping

GENESIS = bytes(32)
# The advisory lock every append takes: "payreq" in ASCII, then 1. Advisory locks are per database.
CHAIN_LOCK_KEY = 0x7061_7972_6571_0001
HASHED_FIELDS = (
    "event_id",
    "occurred_at",
    "category",
    "action",
    "actor_id",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "request_id",
    "source_ip",
    "user_agent",
)
_JSON_FIELDS = frozenset({"before", "after"})


# --- the canonical form ------------------------------------------------------------------------


def stored_json(value: Any) -> Any:
    """`value` as a JSONB column gives it back, so that hashing before insert and after agree.

    JSON-safe values survive JSONB unchanged except numbers: PostgreSQL keeps a number as `numeric`
    and prints it without an exponent (`1e+20` comes back `100000000000000000000`, an integer to
    Python), and has no negative zero. Object keys become strings, as in any JSON round trip.
    """
    if value is None:
        return None
    return json.loads(json.dumps(value, allow_nan=False), parse_float=_as_postgres_numeric)


def _as_postgres_numeric(literal_text: str) -> float | int:
    number = Decimal(literal_text)
    if number.is_zero():
        number = abs(number)
    plain = format(number, "f")
    return float(plain) if "." in plain else int(plain)


def canonical_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_event(event: Mapping[Any, Any]) -> bytes:
    """The bytes an event's hash covers, from an event about to be inserted or a row read back."""
    fields: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = event.get(name)
        if name in _JSON_FIELDS:
            value = stored_json(value)
        elif isinstance(value, datetime):
            value = canonical_timestamp(value)
        elif value is not None:
            value = str(value)  # UUIDs print lowercase with hyphens, as PostgreSQL returns them
        fields[name] = value
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def link_hash(previous: bytes, event: Mapping[Any, Any]) -> bytes:
    return hashlib.sha256(previous + canonical_event(event)).digest()


# --- appending ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainLink:
    seq: int
    hash: bytes


def _append_statement() -> Insert:
    """INSERT the event as the head's successor: `seq` one past the head's, `hash` over the head's.

    Built once (SQLAlchemy then caches its compiled form); the event's values are bound per call.
    """
    head = select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1).subquery()
    # (SELECT 1) LEFT JOIN head: one row whether or not the chain has begun.
    one_row = select(literal_column("1", Integer).label("one")).subquery()
    previous = func.coalesce(head.c.hash, literal(GENESIS, LargeBinary))
    linked = select(
        *(bindparam(name, type_=audit_events.c[name].type) for name in HASHED_FIELDS),
        (func.coalesce(head.c.seq, 0) + 1).label("seq"),
        func.sha256(previous.concat(bindparam("canonical", type_=LargeBinary))).label("hash"),
    ).select_from(one_row.outerjoin(head, true()))
    return (
        insert(audit_events)
        .from_select([*HASHED_FIELDS, "seq", "hash"], linked)
        .returning(audit_events.c.seq, audit_events.c.hash)
    )


_APPEND = _append_statement()
_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=CHAIN_LOCK_KEY)


def append_event(connection: Connection, event: Mapping[str, Any]) -> ChainLink:
    """Insert `event` (every hashed field; `occurred_at` timezone-aware) as the chain's new head.

    Two statements run under the lock: taking it, then one INSERT that reads the head and links to
    it. They must be separate: in READ COMMITTED a statement sees the rows committed when it began,
    so the head must be read by a statement that starts after the lock is granted. The lock is held
    until the caller's transaction ends, so record audit events as late in a transaction as you can.
    Should a caller run at REPEATABLE READ (whose snapshot can predate the lock), the unique `seq`
    refuses the stale link: the chain fails loudly rather than forks.
    """
    canonical = canonical_event(event)  # computed before the lock: the critical section stays short
    values = {name: event.get(name) for name in HASHED_FIELDS}
    connection.execute(_LOCK)
    row = connection.execute(_APPEND, {**values, "canonical": canonical}).one()
    return ChainLink(seq=row.seq, hash=bytes(row.hash))


@record
class ChainHead:
    """The newest event: its place in the chain, and what an anchor names it by."""

    seq: int
    hash: bytes
    event_id: uuid.UUID
    occurred_at: datetime


_HEAD = select(audit_events.c.seq, audit_events.c.hash, audit_events.c.event_id, audit_events.c.occurred_at).order_by(
    audit_events.c.seq.desc()
)


def chain_head(connection: Connection) -> ChainHead | None:
    """The newest event, or None while the log is empty."""
    return record_or_none(ChainHead, connection.execute(_HEAD.limit(1)).mappings().first())


# --- verifying ---------------------------------------------------------------------------------

BreakReason = Literal["hash_mismatch", "sequence_gap"]


@dataclass(frozen=True, slots=True)
class BrokenLink:
    row_id: int
    seq: int
    event_id: str
    reason: BreakReason
    expected_seq: int

    def describe(self) -> str:
        if self.reason == "sequence_gap":
            problem = f"sequence gap: expected seq {self.expected_seq}, found {self.seq} (events removed)"
        else:
            problem = "its hash does not match its contents and the previous hash (edited, or a link removed)"
        return f"row id {self.row_id} (seq {self.seq}, event {self.event_id}): {problem}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int  # events whose links verified, in order from the first
    head_seq: int | None  # the last verified event
    head_hash: bytes | None
    first_broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.first_broken is None


def verify_chain(connection: Connection, *, batch_size: int = 2000) -> ChainReport:
    """Walk the chain from its first event and report the first broken link, if any.

    Reads in `seq` order, in batches (each its own statement): events appended meanwhile are simply
    part of the walk, since the log only grows.
    """
    previous, expected_seq, checked = GENESIS, 1, 0
    for row in _rows_in_chain_order(connection, batch_size):
        broken: BreakReason | None = None
        if row["seq"] != expected_seq:
            broken = "sequence_gap"
        elif link_hash(previous, row) != bytes(row["hash"]):
            broken = "hash_mismatch"
        if broken is not None:
            link = BrokenLink(
                row_id=row["id"],
                seq=row["seq"],
                event_id=str(row["event_id"]),
                reason=broken,
                expected_seq=expected_seq,
            )
            return _report(checked, previous, link)
        previous, expected_seq, checked = bytes(row["hash"]), expected_seq + 1, checked + 1
    return _report(checked, previous, None)


def _report(checked: int, previous: bytes, broken: BrokenLink | None) -> ChainReport:
    return ChainReport(
        checked=checked,
        head_seq=checked or None,
        head_hash=previous if checked else None,
        first_broken=broken,
    )


def _rows_in_chain_order(connection: Connection, batch_size: int) -> Iterator[RowMapping]:
    after = 0
    while True:
        batch = (
            connection.execute(
                select(audit_events).where(audit_events.c.seq > after).order_by(audit_events.c.seq).limit(batch_size)
            )
            .mappings()
            .all()
        )
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1]["seq"]
