"""Warm latency: one warm container (a process that imported the handler once) serving each
endpoint thousands of times, timed per invocation, with the SQL statements each one ran.

Reads are measured on every target before any target writes, so each sees the same data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench import endpoints, targets
from bench.dataset import add_approvable
from bench.measure import Summary, run_child

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from bench.dataset import Dataset

READS: dict[str, tuple[str, Callable[[Dataset], dict[str, Any]]]] = {
    "GET /prs/{id}": ("PrFunction", endpoints.get_pr),
    "GET /prs?limit=50": ("PrFunction", endpoints.list_prs),
    "GET /prs?limit=10": ("PrFunction", lambda data: endpoints.list_prs(data, 10)),
    "GET /invoices?limit=50": ("InvoiceFunction", endpoints.list_invoices),
    "GET /invoices?limit=10": ("InvoiceFunction", lambda data: endpoints.list_invoices(data, 10)),
}
WRITES = ("POST /prs", "POST /prs/{id}/approve")


def measure(engine: Engine, database_url: str, data: Dataset, *, invocations: int, warmup: int) -> dict[str, Any]:
    count = invocations + warmup
    payreq_targets = {
        driver: {fn: targets.payreq(fn, database_url, driver) for fn in ("PrFunction", "InvoiceFunction")}
        for driver in ("pg8000", "psycopg")
    }
    peer, floor = targets.peer(database_url), targets.floor(database_url)
    raw: dict[str, dict[str, Any]] = {"payreq": {}, "payreq (psycopg 3)": {}, "peer": {}, "floor": {}}

    def run(label: str, target: targets.Target, named_events: dict[str, list[dict[str, Any]]]) -> None:
        result, _ = run_child("warm", target, {"endpoints": named_events, "warmup": warmup}, timeout=3600)
        raw[label].update(result)

    for function in ("PrFunction", "InvoiceFunction"):
        reads = {name: endpoints.repeated(build(data), count) for name, (fn, build) in READS.items() if fn == function}
        run("payreq", payreq_targets["pg8000"][function], reads)
        run("payreq (psycopg 3)", payreq_targets["psycopg"][function], reads)
        run("peer", peer, reads)
        run("floor", floor, reads)

    add_approvable(engine, data, 3 * count - len(data.approvable))
    for label, target in (
        ("payreq", payreq_targets["pg8000"]["PrFunction"]),
        ("payreq (psycopg 3)", payreq_targets["psycopg"]["PrFunction"]),
        ("peer", peer),
    ):
        writes = {
            "POST /prs": endpoints.repeated(endpoints.create_pr(data), count),
            "POST /prs/{id}/approve": [endpoints.approve(data, data.take_approvable()) for _ in range(count)],
        }
        run(label, target, writes)

    results: dict[str, Any] = {}
    for label, by_endpoint in raw.items():
        results[label] = {}
        for name, measured in by_endpoint.items():
            failures = {status: n for status, n in measured["statuses"].items() if not 200 <= int(status) < 300}
            if failures:
                raise RuntimeError(f"{label} {name}: non-2xx answers {failures}")
            summary = Summary.of([ns / 1000 for ns in measured["ns"]])
            results[label][name] = {"us": summary.as_dict(), "statements": measured["statements"]}
    get = {label: results[label]["GET /prs/{id}"]["us"]["median"] for label in results}
    results["ratios"] = {
        "get_pr_vs_peer": get["payreq"] / get["peer"],
        "get_pr_vs_floor": get["payreq"] / get["floor"],
        "psycopg_vs_pg8000": get["payreq (psycopg 3)"] / get["payreq"],
    }
    return results
