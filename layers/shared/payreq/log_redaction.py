"""Database errors reach the logs as codes and names, never as PostgreSQL's words.

PostgreSQL's message and detail quote the values it refused: `invalid input syntax for type uuid:
"4111 1111 1111 1111"`, `Key (email)=(ann@example.com) already exists`. Whatever a client sent could
land in CloudWatch that way, card numbers included (the audit log masks them; a log line would not).
The filter below swaps a logged database error for one that says only what an operator needs: the
SQLSTATE, the constraint, table, column and the server routine, with the original traceback kept.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

# Recognised by module, not imported: the logger is in every function, most of which never load a
# database driver before their first query, and a cold start should not pay for them.
_DRIVERS = {"pg8000", "psycopg"}

# pg8000 passes the server's error fields as a dict keyed by PostgreSQL's field codes.
_SAFE_FIELDS = {"C": "sqlstate", "n": "constraint", "s": "schema", "t": "table", "c": "column", "R": "routine"}


class DatabaseError(Exception):
    """A database error as the logs show it: its type and codes, none of its text."""


def summary(error: BaseException) -> DatabaseError | None:
    """The log-safe stand-in for `error`, if a database error is anywhere in its chain."""
    for exception in _chain(error):
        driver_error = _driver_error(exception)
        if driver_error is not None:
            fields = driver_error.args[0] if driver_error is not None and driver_error.args else None
            described = " ".join(
                f"{name}={fields[code]}"
                for code, name in _SAFE_FIELDS.items()
                if isinstance(fields, dict) and code in fields
            )
            if isinstance(fields, str) and type(driver_error).__name__ == "InterfaceError":
                # The driver's own words about the connection (refused, lost, timed out): no values.
                described = fields
            said = f"{type(exception).__qualname__} from {type(driver_error).__qualname__} {described}"
            # SQLAlchemy's error carries the statement, whose values are bound parameters, never text.
            statement = getattr(exception, "statement", None)
            if isinstance(statement, str):
                said += f"\n[SQL: {statement}]\n[SQL parameters hidden]"
            return DatabaseError(said)
    return None


class RedactDatabaseErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc_info: Any = record.exc_info
        if isinstance(exc_info, tuple) and exc_info[1] is not None:
            stand_in = summary(exc_info[1])
            if stand_in is not None:
                record.exc_info = (DatabaseError, stand_in, exc_info[2])
                record.exc_text = None
        return True


def _driver_error(exception: BaseException) -> BaseException | None:
    """The driver's error itself, or the one SQLAlchemy wraps (`DBAPIError.orig`)."""
    package = type(exception).__module__.partition(".")[0]
    if package in _DRIVERS:
        return exception
    original = getattr(exception, "orig", None) if package == "sqlalchemy" else None
    return original if isinstance(original, BaseException) else None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
