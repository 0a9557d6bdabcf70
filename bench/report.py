"""The printed table: every figure beside its peer and the target it answers to."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "cold": "Payreq cold start <= 0.8x the FastAPI + Mangum + ORM peer",
    "warm": "GET /prs/{id} <= 0.8x the peer and <= 4x the raw-driver floor; a list of 50 in <= 3 queries",
    "authorizer": "a revoked credential refused on the next request, for one indexed lookup (< 1 ms) per request",
    "contention": "50 concurrent approvals on one request <= 2 s in all",
    "fanout": "one change to 1,000 WebSocket connections <= 1 s",
    "parsing": "<= 50 ms per page, peak <= 128 MB",
    "package": "shared layer <= 40 MB unzipped (boto3/botocore excluded)",
}


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        # The first column reads as a label (left), the rest as figures (right).
        return "  ".join(
            str(cell).rjust(width) if index else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)])


def heading(name: str, title: str) -> str:
    return f"\n== {title} ==\n   target: {TARGETS[name]}\n"


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    parts = [f"Payreq benchmarks, {results['when']} ({machine['cpus']} CPUs, Python {machine['python']})"]
    if results.get("quick"):
        parts.append("QUICK RUN: counts too small for figures")
    for name, render_section in SECTIONS.items():
        if name in results:
            parts.append(render_section(results[name]))
    parts.append(f"\n(total {results['seconds']:.0f} s)")
    return "\n".join(parts)


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _cold(section: dict[str, Any]) -> str:
    rows = []
    for name, result in section.items():
        if name == "ratios":
            continue
        total = result["total_ms"]
        rows.append(
            [
                name if name not in ("peer", "floor") else result["label"],
                _ms(total["min"]),
                _ms(total["median"]),
                _ms(total["max"]),
                _ms(result["import_ms_median"]),
                _ms(result["first_request_ms_median"]),
            ]
        )
    ratios = section["ratios"]
    tops = "\n".join(
        f"   {name:<20} " + ", ".join(f"{package} {ms:.0f}" for package, ms in result["importtime_top_ms"][:6])
        for name, result in section.items()
        if name != "ratios"
    )
    return (
        heading("cold", "Cold start: fresh process, import + first request (ms, spawn to answer)")
        + table(["function", "min", "median", "max", "import", "1st request"], rows)
        + f"\n   PrFunction / peer = {ratios['pr_vs_peer']:.2f}x   PrFunction / floor = {ratios['pr_vs_floor']:.2f}x"
        + "\n   -X importtime, self ms by top-level package:\n"
        + tops
    )


def _warm(section: dict[str, Any]) -> str:
    labels = [label for label in section if label != "ratios"]
    endpoints = list(dict.fromkeys(name for label in labels for name in section[label]))
    rows = []
    for endpoint in endpoints:
        for label in labels:
            measured = section[label].get(endpoint)
            if measured is None:
                continue
            us = measured["us"]
            statements = f"{measured['statements']:.1f}" if label != "floor" else "-"
            rows.append([endpoint, label, f"{us['median']:.0f}", f"{us['p99']:.0f}", str(us["n"]), statements])
    ratios = section["ratios"]
    return (
        heading("warm", "Warm latency in one container (us per invocation; SQL statements per request)")
        + table(["endpoint", "implementation", "median", "p99", "n", "queries"], rows)
        + f"\n   GET /prs/{{id}}: payreq / peer = {ratios['get_pr_vs_peer']:.2f}x,"
        + f" payreq / floor = {ratios['get_pr_vs_floor']:.2f}x,"
        + f" psycopg 3 / pg8000 = {ratios['psycopg_vs_pg8000']:.2f}x"
    )


def _authorizer(section: dict[str, Any]) -> str:
    rows = [
        [
            credential,
            f"{result['before_hit']['median'] * 1000:.0f}",
            f"{result['before_miss']['median'] * 1000:.0f}",
            f"{result['now']['median'] * 1000:.0f}",
            f"{result['now']['p99'] * 1000:.0f}",
            f"{result['now_over_before_hit']:.0f}x",
            f"{result['now_over_before_miss']:.2f}x",
        ]
        for credential, result in section.items()
    ]
    return heading(
        "authorizer", "Authorizer per request: 30 s cache (before: hit, miss) vs a lookup on every request (now)"
    ) + table(["credential", "before hit us", "before miss us", "now us", "now p99 us", "now/hit", "now/miss"], rows)


def _contention(section: dict[str, Any]) -> str:
    rows = [
        [label, _ms(result["total_ms"]), _ms(result["p50_ms"]), _ms(result["p99_ms"]), result["outcome"]]
        for label, result in section.items()
    ]
    return heading(
        "contention", "Contention: 50 approvers approve one all-of step at once (separate processes)"
    ) + table(["implementation", "total ms", "p50 ms", "p99 ms", "outcome"], rows)


def _fanout(section: dict[str, Any]) -> str:
    rows = [
        [key.replace("_", " "), f"{value:.3f}" if isinstance(value, float) else str(value)]
        for key, value in section.items()
    ]
    return heading("fanout", "Fan-out through the local stack: one change, every subscribed WebSocket") + table(
        ["", "value"], rows
    )


def _parsing(section: dict[str, Any]) -> str:
    rows = [
        [
            f"{pages} page(s)",
            _ms(result["ms_per_page"]),
            _ms(result["ms_total_median"]),
            f"{result['peak_mib']:.2f}",
            f"{result['child_rss_mib']:.1f}",
        ]
        for pages, result in section.items()
    ]
    return heading("parsing", "Invoice parsing (text + fields + line items), median of repeats") + table(
        ["document", "ms/page", "ms total", "peak MiB (tracemalloc)", "parser child max RSS MiB"], rows
    )


def _package(section: dict[str, Any]) -> str:
    rows = [[name, f"{mib:.1f}"] for name, mib in section["sizes_mib"].items()]
    largest = ", ".join(f"{name} {mib:.1f}" for name, mib in section["layer_largest_mib"])
    return (
        heading("package", "Package size after `sam build` (MiB unzipped)")
        + table(["artifact", "MiB"], rows)
        + f"\n   largest in the layer: {largest}"
    )


SECTIONS = {
    "package": _package,
    "parsing": _parsing,
    "cold": _cold,
    "warm": _warm,
    "authorizer": _authorizer,
    "contention": _contention,
    "fanout": _fanout,
}
