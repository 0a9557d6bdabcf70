"""Warm latency: one warm container (a process that imported the handler once) per target, kept
running, serving each endpoint in blocks taken in turn with the other targets (A B C... then the
reverse order, and again), so that whatever the machine does meanwhile falls on every target
alike. Each figure is the median of every invocation, with its 95% interval; each ratio is the
median of the per-block ratios (blocks of both targets run side by side), with its 95% interval.

Targets: Payreq on pg8000 and on psycopg 3, the FastAPI peer on pg8000 (with the same placeholder
memo and statement pipelining) and on psycopg 3, and the floor on each driver (prepared statements,
no framework; reads only). Payreq is held to the floor on its own driver.
Reads are measured on every target before any target writes, so each sees the same data; each list
answers the same number of items on every target (a full page: the run stops otherwise)."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from bench import endpoints, targets
from bench.dataset import add_approvable
from bench.measure import Serving, Summary, median_interval

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
BLOCK = 50  # invocations per block: long enough to time, short enough to interleave finely


def measure(engine: Engine, database_url: str, data: Dataset, *, invocations: int, warmup: int) -> dict[str, Any]:
    count = invocations + warmup
    by_label: dict[str, Callable[[str], targets.Target]] = {
        "payreq (pg8000)": lambda fn: targets.payreq(fn, database_url, "pg8000"),
        "payreq (psycopg 3)": lambda fn: targets.payreq(fn, database_url, "psycopg"),
        "peer (pg8000)": lambda _: targets.peer(database_url, "pg8000"),
        "peer (psycopg 3)": lambda _: targets.peer(database_url, "psycopg"),
        "floor (pg8000)": lambda _: targets.floor(database_url, "pg8000"),
        "floor (pg8000, unnamed)": lambda _: targets.floor(database_url, "pg8000", prepared=False),
        "floor (psycopg 3)": lambda _: targets.floor(database_url),
    }
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {label: {} for label in by_label}
    configurations: dict[str, str] = {}

    for function in ("PrFunction", "InvoiceFunction"):
        reads = {name: endpoints.repeated(build(data), count) for name, (fn, build) in READS.items() if fn == function}
        _interleave(raw, configurations, {label: make(function) for label, make in by_label.items()}, reads, warmup)

    writers = {label: make("PrFunction") for label, make in by_label.items() if not label.startswith("floor")}
    write_count = max(BLOCK, invocations // 4) + warmup  # writes are slower; fewer of them
    add_approvable(engine, data, len(writers) * write_count - len(data.approvable))
    writes_by_label = {
        label: {
            "POST /prs": endpoints.repeated(endpoints.create_pr(data), write_count),
            "POST /prs/{id}/approve": [endpoints.approve(data, data.take_approvable()) for _ in range(write_count)],
        }
        for label in writers
    }
    _interleave(raw, configurations, writers, writes_by_label, warmup)

    results: dict[str, Any] = {"configurations": configurations}
    for label, by_endpoint in raw.items():
        results[label] = {}
        for name, blocks in by_endpoint.items():
            failures: dict[str, int] = {}
            for block in blocks:
                for status, n in block["statuses"].items():
                    if not 200 <= int(status) < 300:
                        failures[status] = failures.get(status, 0) + n
            if failures:
                example = next(block["refused"] for block in blocks if block.get("refused"))
                raise RuntimeError(f"{label} {name}: non-2xx answers {failures}, e.g. {example}")
            timings = [ns / 1000 for block in blocks for ns in block["ns"]]
            statements = sum(block["statements"] for block in blocks) / max(1, len(timings))
            results[label][name] = {"us": Summary.of(timings).as_dict(), "statements": statements}
            if (items := _page_size(label, name, blocks)) is not None:
                results[label][name]["items"] = items
    _same_pages(results)
    pairs = {
        # Payreq as deployed (pg8000) against the floor on the same driver: the summary's figure.
        "get_pr_vs_floor_pg8000": ("payreq (pg8000)", "floor (pg8000)"),
        "peer_get_pr_vs_floor_pg8000": ("peer (pg8000)", "floor (pg8000)"),
        # ... and against the same SQL parsed and planned on every run (unnamed; a reference, no floor).
        "get_pr_vs_floor_pg8000_unnamed": ("payreq (pg8000)", "floor (pg8000, unnamed)"),
        "get_pr_vs_floor_psycopg": ("payreq (psycopg 3)", "floor (psycopg 3)"),
        "peer_get_pr_vs_floor_psycopg": ("peer (psycopg 3)", "floor (psycopg 3)"),
        "get_pr_vs_peer_pg8000": ("payreq (pg8000)", "peer (pg8000)"),
        "get_pr_vs_peer_psycopg": ("payreq (psycopg 3)", "peer (psycopg 3)"),
        "get_pr_psycopg_vs_pg8000": ("payreq (psycopg 3)", "payreq (pg8000)"),
        "floor_psycopg_vs_pg8000": ("floor (psycopg 3)", "floor (pg8000)"),
    }
    results["ratios"] = {name: _paired(raw, a, b) for name, (a, b) in pairs.items()}
    return results


def _interleave(
    raw: dict[str, dict[str, list[dict[str, Any]]]],
    configurations: dict[str, str],
    subjects: dict[str, targets.Target],
    events: dict[str, Any],
    warmup: int,
) -> None:
    """Serve every endpoint on every subject, block by block, alternating the order (ABAB, BABA)."""
    per_label = all(isinstance(value, dict) for value in events.values()) and set(events) <= set(subjects)
    servers = {
        label: Serving(target, {"endpoints": events[label] if per_label else events})
        for label, target in subjects.items()
    }
    try:
        for label, server in servers.items():
            configurations[label] = server.target.label
        names = list(next(iter(events.values())) if per_label else events)
        for name in names:
            total = len((events[next(iter(subjects))] if per_label else events)[name])
            for server in servers.values():
                server.run(name, 0, warmup)  # warm-up, not recorded
            order = list(servers)
            for block, start in enumerate(range(warmup, total, BLOCK)):
                for label in order if block % 2 == 0 else reversed(order):
                    answer = servers[label].run(name, start, min(BLOCK, total - start))
                    raw[label].setdefault(name, []).append({**answer, "block": block})
    finally:
        for server in servers.values():
            server.close()


def _page_size(label: str, endpoint: str, blocks: list[dict[str, Any]]) -> int | None:
    sizes = {block.get("items") for block in blocks}
    if len(sizes) > 1:
        raise RuntimeError(f"{label} {endpoint}: pages of different sizes {sorted(map(str, sizes))}")
    return sizes.pop() if sizes else None


def _same_pages(results: dict[str, Any]) -> None:
    """Every target must answer a list with as many items as every other, and a page of `limit=N`
    with N of them: a shorter page would be a faster figure of less work."""
    by_endpoint: dict[str, dict[str, int]] = {}
    for label, by_name in results.items():
        if label == "configurations":
            continue
        for name, measured in by_name.items():
            if "items" in measured:
                by_endpoint.setdefault(name, {})[label] = measured["items"]
    for name, sizes in by_endpoint.items():
        limit = int(name.rpartition("limit=")[2]) if "limit=" in name else None
        if len(set(sizes.values())) > 1 or (limit is not None and set(sizes.values()) != {limit}):
            raise RuntimeError(f"{name}: pages of {sizes} items (limit {limit}): the targets must list the same page")


def _paired(raw: dict[str, dict[str, list[dict[str, Any]]]], a: str, b: str) -> dict[str, Any]:
    """`a` over `b` on GET /prs/{id}: the median of the per-block ratios of medians, and its 95% interval."""
    endpoint = "GET /prs/{id}"
    blocks_b = {block["block"]: block for block in raw[b][endpoint]}
    ratios = [
        statistics.median(block["ns"]) / statistics.median(blocks_b[block["block"]]["ns"])
        for block in raw[a][endpoint]
        if block["block"] in blocks_b
    ]
    low, high = median_interval(ratios)
    return {"median": statistics.median(ratios), "ci95": [low, high], "blocks": len(ratios)}
