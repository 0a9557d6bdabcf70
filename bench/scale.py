"""Reads at scale: each list and read served by one warm container (Payreq on pg8000) on the bench's
dataset, then again once the tables they read have grown to tens of thousands of rows. The copies
are made in SQL (`support/bulk.py`), each older than the originals, so every page answers the same
rows at both sizes; statistics are refreshed as autovacuum would. The ratio large / small is how a
request's time grows with its tables: about 1 when it reads only what it answers, far more when it
sorts or scans a table (before the newest-first indexes, a page of requests was 20x slower at
65,000 requests). The two sizes cannot take turns (the same database grows), so each is served in
blocks after a warm-up of its own, and the ratio is of medians."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench import endpoints, targets
from bench.measure import Serving, Summary
from bench.warm import BLOCK

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

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
    count = invocations + warmup
    functions = sorted({function for function, _ in READS.values()})
    servers = {
        function: Serving(
            targets.payreq(function, database_url, "pg8000"),
            {
                "endpoints": {
                    name: endpoints.repeated(build(data), count)
                    for name, (owner, build) in READS.items()
                    if owner == function
                }
            },
        )
        for function in functions
    }
    try:
        _settle(engine)
        small = _serve(servers, count, warmup)
        rows_before, rows_after = _grow(engine)
        _settle(engine)
        large = _serve(servers, count, warmup)
    finally:
        for server in servers.values():
            server.close()
    results: dict[str, Any] = {
        "configuration": "payreq (pg8000), one warm container per function, the same requests at both sizes",
        "rows": {table: {"small": rows_before[table], "large": rows_after[table]} for table in rows_before},
        "endpoints": {},
    }
    for name in READS:
        if small[name]["items"] != large[name]["items"]:
            raise RuntimeError(f"{name}: {small[name]['items']} items, then {large[name]['items']}: not the same page")
        before, after = Summary.of(small[name]["us"]), Summary.of(large[name]["us"])
        results["endpoints"][name] = {
            "small_us": before.as_dict(),
            "large_us": after.as_dict(),
            "ratio": after.median / before.median,
            "items": {"small": small[name]["items"], "large": large[name]["items"]},
        }
    return results


def _serve(servers: dict[str, Serving], count: int, warmup: int) -> dict[str, dict[str, Any]]:
    measured: dict[str, dict[str, Any]] = {}
    for name, (function, _) in READS.items():
        server = servers[function]
        server.run(name, 0, warmup)
        timings: list[float] = []
        items = None
        for start in range(warmup, count, BLOCK):
            answer = server.run(name, start, min(BLOCK, count - start))
            failures = {status: n for status, n in answer["statuses"].items() if not 200 <= int(status) < 300}
            if failures:
                raise RuntimeError(f"{name}: non-2xx answers {failures}, e.g. {answer['refused']}")
            timings += [ns / 1000 for ns in answer["ns"]]
            items = answer.get("items")
        measured[name] = {"us": timings, "items": items}
    return measured


def _settle(engine: Engine) -> None:
    """Leave the database as autovacuum would, and write out dirty pages now: a size's figures must
    not carry the background work the last one left (vacuuming tens of thousands of new rows, a
    checkpoint)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("payments", *(growth.table for growth in GROWTH)):
            connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
        connection.exec_driver_sql("CHECKPOINT")


def _grow(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """Grow each table; its row count before and after. On an engine of its own whose reads may
    take minutes: one table's copies are one large insert."""
    from sqlalchemy import text

    from payreq.db.engine import build_engine
    from payreq.settings import DatabaseSettings
    from support.bulk import copy_rows

    url = engine.url.render_as_string(hide_password=False)
    patient = build_engine(DatabaseSettings(DATABASE_URL=url, read_timeout_seconds=600))
    tables = ("payments", *(growth.table for growth in GROWTH))

    def counts() -> dict[str, int]:
        with patient.connect() as connection:
            return {table: int(connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0) for table in tables}

    try:
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
    finally:
        patient.dispose()
