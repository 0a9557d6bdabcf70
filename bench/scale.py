"""Reads at scale: each list and read served on the bench's dataset, and on a copy of that database
whose tables have grown to tens of thousands of rows, by warm containers (Payreq on pg8000, one
per function and size) taking turns block by block, so that machine noise falls on both sizes
alike. The copies are made in SQL (`support/bulk.py`), each older than the originals, so every page
answers the same rows at both sizes; both databases are vacuumed and checkpointed first, as
autovacuum would leave them. The ratio large / small (median of per-block ratios) is how a
request's time grows with its tables: about 1 when it reads only what it answers, far more when it
sorts or scans a table (before the newest-first indexes, a page of requests was 7x slower at 65,000
requests, and growing)."""

from __future__ import annotations

import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import endpoints, targets
from bench.measure import Serving, Summary, median_interval
from bench.warm import BLOCK

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Connection, Engine

    from bench.dataset import Dataset


@dataclass(frozen=True)
class Growth:
    """A table grown to about `rows` rows by copies of its own (whatever the sections before left in
    it): `unique` text columns suffixed, `older` moved back, `expressions` for other columns."""

    table: str
    rows: int
    unique: tuple[str, ...] = ()
    older: str = "created_at"
    expressions: dict[str, str] = field(default_factory=dict)


GROWTH = (
    Growth("payment_requests", 40_000, unique=("number",)),
    Growth("invoices", 40_000, unique=("reference",)),
    # The chain's positions must stay unique: copies take positions below the first.
    Growth("audit_events", 60_000, older="occurred_at", expressions={"seq": "seq - n * 1000000000::bigint"}),
)
# Payments grow with requests of their own: copy n of a paid request (numbered "<number>-paid-n")
# takes copy n of each of its payments, so a request keeps its handful of payments instead of
# gathering every copy's (its page shows what it has paid so far).
PAYMENTS = 40_000
TABLES = ("payments", *(growth.table for growth in GROWTH))

READS: dict[str, tuple[str, Callable[[Dataset], dict[str, Any]]]] = {
    "GET /prs/{id}": ("PrFunction", endpoints.get_pr),
    "GET /prs?limit=50": ("PrFunction", endpoints.list_prs),
    "GET /prs?status=pending&limit=50": (
        "PrFunction",
        lambda data: endpoints.as_user(data.alice, "GET", "/api/v1/prs", query={"status": "pending", "limit": "50"}),
    ),
    "GET /prs?awaiting=me&limit=50": (
        "PrFunction",
        lambda data: endpoints.as_user(data.carol, "GET", "/api/v1/prs", query={"awaiting": "me", "limit": "50"}),
    ),
    # A search that matches nothing reads every request: ILIKE '%...%' has no index to use here
    # (pg_trgm would give it one; the embedded PostgreSQL the project runs has no pg_trgm).
    "GET /prs?q=<no match>&limit=50": (
        "PrFunction",
        lambda data: endpoints.as_user(data.alice, "GET", "/api/v1/prs", query={"q": "no such words", "limit": "50"}),
    ),
    "GET /invoices?limit=50": ("InvoiceFunction", endpoints.list_invoices),
    "GET /payments?limit=50": (
        "PaymentFunction",
        lambda data: endpoints.as_user(data.carol, "GET", "/api/v1/payments", query={"limit": "50"}),
    ),
    "GET /audit-events?limit=50": (
        "AuditFunction",
        lambda data: endpoints.as_user(data.carol, "GET", "/api/v1/audit-events", query={"limit": "50"}),
    ),
}
FLAT = 1.5  # a ratio above this is printed as growing with the table


def measure(engine: Engine, database_url: str, data: Dataset, *, invocations: int, warmup: int) -> dict[str, Any]:
    """The same reads on two databases side by side: the dataset as is, and a copy of it whose tables
    have grown. Blocks of each endpoint take turns on the two (ABAB, then BABA), so machine noise falls
    on both sizes alike; the ratio is the median of per-block ratios, with its 95% interval."""
    count = invocations + warmup
    engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the dataset's database without connections
    large_url = _copy_database(database_url, "large")
    try:
        rows_before, rows_after = _grow(large_url)
        _settle(database_url)
        _settle(large_url)
        blocks = _interleaved({"small": database_url, "large": large_url}, data, count, warmup)
    finally:
        _drop_database(large_url)
    results: dict[str, Any] = {
        "configuration": "payreq (pg8000), one warm container per function and size, blocks of the two sizes"
        " taking turns, the same requests at both sizes",
        "rows": {table: {"small": rows_before[table], "large": rows_after[table]} for table in rows_before},
        "endpoints": {},
    }
    for name in READS:
        small, large = blocks["small"][name], blocks["large"][name]
        items = {size: {block["items"] for block in blocks[size][name]} for size in ("small", "large")}
        if len(items["small"] | items["large"]) != 1:
            raise RuntimeError(f"{name}: pages of {items} items: not the same page at both sizes")
        ratios = [statistics.median(b["ns"]) / statistics.median(a["ns"]) for a, b in zip(small, large, strict=True)]
        low, high = median_interval(ratios)
        results["endpoints"][name] = {
            "small_us": Summary.of([ns / 1000 for block in small for ns in block["ns"]]).as_dict(),
            "large_us": Summary.of([ns / 1000 for block in large for ns in block["ns"]]).as_dict(),
            "ratio": statistics.median(ratios),
            "ratio_ci95": [low, high],
            "items": items["large"].pop(),
        }
    return results


def _interleaved(
    urls: dict[str, str], data: Dataset, count: int, warmup: int
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    functions = sorted({function for function, _ in READS.values()})
    servers = {
        (size, function): Serving(
            targets.payreq(function, url, "pg8000"),
            {
                "endpoints": {
                    name: endpoints.repeated(build(data), count)
                    for name, (owner, build) in READS.items()
                    if owner == function
                }
            },
        )
        for size, url in urls.items()
        for function in functions
    }
    blocks: dict[str, dict[str, list[dict[str, Any]]]] = {size: {} for size in urls}
    try:
        for name, (function, _) in READS.items():
            for size in urls:
                servers[size, function].run(name, 0, warmup)
            for block, start in enumerate(range(warmup, count, BLOCK)):
                for size in list(urls) if block % 2 == 0 else list(reversed(urls)):
                    answer = servers[size, function].run(name, start, min(BLOCK, count - start))
                    failed = {status: n for status, n in answer["statuses"].items() if not 200 <= int(status) < 300}
                    if failed:
                        raise RuntimeError(f"{name} ({size}): non-2xx answers {failed}, e.g. {answer['refused']}")
                    blocks[size].setdefault(name, []).append(answer)
    finally:
        for server in servers.values():
            server.close()
    return blocks


def _copy_database(url: str, suffix: str) -> str:
    """A copy of `url`'s database, named after it with `suffix`; its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    source = make_url(url)
    copy = source.set(database=f"{source.database}_{suffix}")
    with _admin(url) as connection:
        # The sections before are done with it, but an engine of theirs may still hold a connection.
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": source.database},
        )
        connection.exec_driver_sql(f'CREATE DATABASE "{copy.database}" TEMPLATE "{source.database}"')
    return copy.render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    with _admin(url) as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@contextmanager
def _admin(url: str) -> Iterator[Connection]:
    """An autocommit connection to the server's `template1` (for CREATE / DROP DATABASE: the dataset
    itself may be in `postgres`, and a database being copied must have no connection)."""
    from sqlalchemy.engine import make_url

    with (
        _patient(make_url(url).set(database="template1").render_as_string(hide_password=False)) as admin,
        admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection,
    ):
        yield connection


@contextmanager
def _patient(url: str) -> Iterator[Engine]:
    """An engine whose reads may take minutes: growing a table is one large insert, vacuuming it long."""
    from payreq.db.engine import build_engine
    from payreq.settings import DatabaseSettings

    engine = build_engine(DatabaseSettings(DATABASE_URL=url, read_timeout_seconds=600))
    try:
        yield engine
    finally:
        engine.dispose()


def _settle(url: str) -> None:
    """Leave the database as autovacuum would, and write out dirty pages now: the figures must not
    carry the background work the growth left (vacuuming tens of thousands of new rows, a checkpoint)."""
    with _patient(url) as patient, patient.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
        connection.exec_driver_sql("CHECKPOINT")


def _grow(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Grow each table of `url`'s database; its row count before and after."""
    from sqlalchemy import text

    from support.bulk import copy_rows

    with _patient(url) as patient:

        def counts() -> dict[str, int]:
            with patient.connect() as connection:
                return {table: int(connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0) for table in TABLES}

        before = counts()
        with patient.begin() as connection:
            paid_copies = max(0, PAYMENTS // max(1, before["payments"]) - 1)
            copy_rows(
                connection,
                "payment_requests",
                paid_copies,
                unique=("number",),
                tag="paid",
                where="id IN (SELECT payment_request_id FROM payments)",
            )
            copy_rows(
                connection,
                "payments",
                paid_copies,
                expressions={
                    "payment_request_id": "(SELECT copy.id FROM payment_requests AS copy WHERE copy.number ="
                    " (SELECT original.number FROM payment_requests AS original"
                    " WHERE original.id = payments.payment_request_id) || '-paid-' || n)"
                },
            )
        for growth in GROWTH:
            with patient.begin() as connection:
                rows = int(connection.scalar(text(f'SELECT count(*) FROM "{growth.table}"')) or 0)
                copy_rows(
                    connection,
                    growth.table,
                    max(0, growth.rows // max(1, rows) - 1),
                    unique=growth.unique,
                    older=growth.older,
                    expressions=growth.expressions,
                )
        return before, counts()
