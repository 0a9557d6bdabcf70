"""pg8000's statements in one round trip instead of three, each parsed once per connection.

One round trip: pg8000 (1.31) runs each statement with PostgreSQL's extended protocol as three
exchanges, each waiting for the server: Parse + Sync, then Describe + Sync, then Bind + Execute +
Sync. Nothing it sends later depends on what it got back earlier (the parameters are encoded from
the Python values, the row description arrives before the rows either way), so the messages go
together, followed by one Sync, as libpq and psycopg send them: behind RDS Proxy, 0.3-1 ms saved
twice per statement.

Parsed once: a statement with parameters is parsed under a name the first time a connection runs
it; later runs on that connection send only Bind + Execute with the same name, and the rows are
read with the row description kept from the first run. PostgreSQL then neither parses nor
analyses the statement again, and once its plan cache settles on a generic plan (after five runs,
when that plan is no worse than the custom ones) it does not plan it either: for a payment
request's read, planning was ~0.24 ms of ~0.7 ms on the server. The name lives at the protocol
level only (Parse, Bind and Close messages), which RDS Proxy multiplexes without pinning: since
November 2023 it records the statements each client session prepares and prepares them again on
whichever database connection it lends next. SQL's `PREPARE`, `EXECUTE` and `DEALLOCATE` would pin
the session, and are never sent. Statements without parameters (BEGIN, COMMIT, ROLLBACK, and what
pg8000 runs by itself) stay unnamed.

Bounded and self-healing, per connection:
- at most `PREPARED` names; the least recently used is closed (a Close message sent ahead of the
  next statement, so it costs no round trip of its own);
- a statement whose run failed after its Parse may exist on the server: its name is closed too,
  and never used again (names are not reused);
- a name the server no longer knows (SQLSTATE 26000), or whose plan a migration made return other
  columns ("cached plan must not change result type", 0A000), is dropped; outside a transaction the
  statement is parsed again and run once more at once (it ran nothing), inside one the error is
  raised as any failure is, and the next attempt parses it afresh.

Errors are otherwise unchanged: the server answers an error in any step with ErrorResponse, skips
the rest up to the Sync and says ReadyForQuery; pg8000 raises it then. COPY (a `stream`) keeps
pg8000's own exchange.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pg8000.core
from pg8000.converters import make_params
from pg8000.exceptions import DatabaseError, InterfaceError

# Names kept per connection: more than the statements any one function runs.
PREPARED = 256

# A statement as pg8000 sends it: its text (placeholders `$n`) and its parameters' declared types.
Key = tuple[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class _Prepared:
    name: bytes  # NUL-terminated, as the protocol takes it
    columns: Any
    input_funcs: Any


@dataclass(slots=True)
class _Names:
    """One connection's prepared statements, by (text, parameter types), least recently used first."""

    prepared: OrderedDict[Key, _Prepared] = field(default_factory=OrderedDict)
    to_close: list[bytes] = field(default_factory=list)
    numbers: count[int] = field(default_factory=count)

    def new_name(self) -> bytes:
        return f"payreq_{next(self.numbers)}".encode("ascii") + b"\x00"

    def keep(self, key: Key, prepared: _Prepared) -> None:
        self.prepared[key] = prepared
        while len(self.prepared) > PREPARED:
            _, evicted = self.prepared.popitem(last=False)
            self.to_close.append(evicted.name)

    def drop(self, key: Key) -> None:
        dropped = self.prepared.pop(key, None)
        if dropped is not None:
            self.to_close.append(dropped.name)


def pipeline_statements(*, named: bool = True) -> None:
    """Make every pg8000 connection send each statement's messages in one go, and (`named`) parse
    each statement with parameters once per connection. Idempotent; the last call decides `named`."""
    connection_class: Any = pg8000.core.CoreConnection
    own = getattr(connection_class.execute_unnamed, "pg8000_own", connection_class.execute_unnamed)

    def execute_unnamed(self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None) -> Any:
        if stream is not None:
            return own(self, statement, vals, oids, stream)
        # Encoded first: a value pg8000 cannot send must fail before anything is written.
        params = make_params(self.py_types, vals)
        if self._sock is None:
            raise InterfaceError("connection is closed")
        if not named or not vals:
            return _run(self, pg8000.core.NULL_BYTE, statement, params, oids)
        return _run_named(self, statement, params, tuple(oids))

    execute_unnamed.pg8000_own = own  # type: ignore[attr-defined]
    connection_class.execute_unnamed = execute_unnamed


def _run_named(connection: Any, statement: str, params: Any, oids: tuple[int, ...]) -> Any:
    names: _Names = connection.__dict__.setdefault("_payreq_names", _Names())
    key = (statement, oids)
    prepared = names.prepared.get(key)
    if prepared is None:
        return _parse_and_run(connection, names, key, statement, params)
    names.prepared.move_to_end(key)
    outside_transaction = connection._transaction_status == pg8000.core.IDLE
    try:
        return _run(connection, prepared.name, statement, params, oids, prepared=prepared, closing=names)
    except DatabaseError as error:
        if not _forgotten(error):
            raise
        names.drop(key)
        if not outside_transaction:
            raise
    return _parse_and_run(connection, names, key, statement, params)


def _parse_and_run(connection: Any, names: _Names, key: Key, statement: str, params: Any) -> Any:
    name = names.new_name()
    try:
        context = _run(connection, name, statement, params, key[1], closing=names)
    except Exception:
        names.to_close.append(name)  # parsed before the step that failed, perhaps
        raise
    names.keep(key, _Prepared(name, context.columns, context.input_funcs))
    return context


def _run(
    connection: Any,
    name: bytes,
    statement: str,
    params: Any,
    oids: Any,
    *,
    prepared: _Prepared | None = None,
    closing: _Names | None = None,
) -> Any:
    """Run `statement` under `name` in one round trip: parsed first, unless it is `prepared` (then
    its rows are read as that first run described them); `closing`'s pending Close messages go ahead."""
    core: Any = pg8000.core
    if closing is not None:
        while closing.to_close:
            connection._send_message(core.CLOSE, core.STATEMENT + closing.to_close.pop())
    if prepared is None:
        connection.send_PARSE(name, statement, oids)
        connection.send_DESCRIBE_STATEMENT(name)
        context = core.Context(statement)
    else:
        context = core.Context(statement, columns=prepared.columns, input_funcs=prepared.input_funcs)
    connection.send_BIND(name, params)
    connection.send_EXECUTE()
    core._write(connection._sock, core.SYNC_MSG)
    core._flush(connection._sock)
    connection.handle_messages(context)
    return context


def _forgotten(error: DatabaseError) -> bool:
    """The server no longer has this statement as it was parsed: unknown to this session (26000),
    or its result's columns changed under it (0A000, "cached plan must not change result type")."""
    details = error.args[0] if error.args else None
    if not isinstance(details, dict):
        return False
    code = details.get("C")
    return code == "26000" or (code == "0A000" and "cached plan" in str(details.get("M", "")))


def forget_prepared(connection: Any) -> None:
    """Forget every statement this pg8000 connection has parsed by name, closing them with its next
    statement (after a converter change: the rows would be read with the old converters)."""
    names: _Names | None = connection.__dict__.get("_payreq_names")
    if names is not None:
        names.to_close.extend(prepared.name for prepared in names.prepared.values())
        names.prepared.clear()
