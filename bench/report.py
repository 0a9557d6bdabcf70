"""The printed table: every figure beside its peer and the target it answers to."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "cold": "as deployed (authorizer + route function) <= 0.8x the peer as deployed; SnapStart restore -> first"
    " response <= 3x the warm median",
    "warm": "GET /prs/{id} <= 1.5x the floor on the same driver (pg8000 as deployed; psycopg 3 beside it);"
    " a list of 50 in <= 3 queries",
    "authorizer": "a revoked credential refused on the next request, for one indexed lookup in one round trip",
    "contention": "50 concurrent approvals on one request <= 2 s in all",
    "fanout": "one change to 1,000 WebSocket connections <= 1 s",
    "parsing": "<= 50 ms per page, the function's peak (itself + its reader) <= 128 MB",
    "package": "shared layer <= 40 MB unzipped (boto3/botocore excluded)",
    "scale": "a read's time flat as its tables grow (large / small <= 1.5: it reads what it answers)",
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
        if name in results and "failed" in results[name]:
            last = results[name]["failed"].strip().splitlines()[-1]
            parts.append(f"\n== {name}: FAILED ==\n   {last}")
        elif name in results:
            parts.append(render_section(results[name]))
    if "summary" in results:
        parts.append(_summary(results["summary"]))
    seconds = ", ".join(f"{name} {value:.0f}" for name, value in results.get("section_seconds", {}).items())
    parts.append(f"\n(total {results['seconds']:.0f} s: {seconds})")
    return "\n".join(parts)


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _cold(section: dict[str, Any]) -> str:
    functions = section["functions"]
    rows = [
        [name, result["label"], _ms(result["total_ms"]["median"]), _ci(result["total_ms"])]
        for name, result in functions.items()
    ]
    tops = "\n".join(
        f"   {name:<20} " + ", ".join(f"{package} {ms:.0f}" for package, ms in result["importtime_top_ms"][:6])
        for name, result in functions.items()
    )
    deployed = section["as_deployed"]
    deployed_rows = [
        [
            name,
            result["mode"],
            _ms(result["total_ms"]["median"]),
            _ci(result["total_ms"]),
            " + ".join(_ms(ms) for ms in result["member_ms_median"]),
            _ms(result["forks_ms_median"]) if "forks_ms_median" in result else "-",
        ]
        for name, result in deployed.items()
        if name != "ratios"
    ]
    members = "\n".join(
        f"   {name}: " + " -> ".join(result["members"]) for name, result in deployed.items() if name != "ratios"
    )
    ratios = deployed["ratios"]
    snap = section["snapstart"]
    return (
        heading("cold", "Cold start, each function locally: fresh process, import + first request (ms)")
        + table(["function", "configuration", "median", "95% CI"], rows)
        + "\n   -X importtime, self ms by top-level package:\n"
        + tops
        + "\n\n   An API call as deployed, nothing warm (authorizer then route function; the peer alone):\n"
        + table(["configuration", "mode", "median ms", "95% CI", "per function", "forks (apart)"], deployed_rows)
        + "\n"
        + members
        + f"\n   payreq with SnapStart / peer = {ratios['payreq_snapstart_vs_peer']:.2f}x"
        + f"   payreq without SnapStart / peer = {ratios['payreq_vs_peer']:.2f}x"
        + f"   both with SnapStart = {ratios['payreq_snapstart_vs_peer_snapstart']:.2f}x"
        + f"   X-Ray SDK on / off = {ratios['tracing_sdk_vs_off']:.2f}x"
        + f"\n   SnapStart {snap['request']}: restore -> first response"
        + f" {snap['restore_to_first_response_ms']['median']:.1f} ms,"
        + f" warm {snap['warm_same_request_us']['median'] / 1000:.2f} ms: {snap['ratio']:.1f}x"
        + (f" ({snap['ratio_with_fork']:.1f}x counting the fork)" if "ratio_with_fork" in snap else "")
        + "\n   of it, and beside it in the same restored copy (ms, not subtracted): "
        + _parts(snap.get("parts_ms", {}))
        + _proxy(section.get("proxy"))
    )


def _proxy(proxy: dict[str, Any] | None) -> str:
    if not proxy:
        return ""
    return (
        f"\n   as deployed through the {proxy['emulation']}: backends opened {proxy['opened']},"
        f" lent again {proxy['reused']}, discarded {proxy['discarded']}"
    )


def _parts(parts: dict[str, Any]) -> str:
    return ", ".join(f"{name.removesuffix('_ms')} {part['median']:.1f}" for name, part in parts.items())


def _ci(summary: dict[str, Any]) -> str:
    low, high = summary.get("median_ci95", [summary["median"], summary["median"]])
    return f"{low:.1f}-{high:.1f}"


def _warm(section: dict[str, Any]) -> str:
    labels = [label for label in section if label not in ("ratios", "configurations")]
    endpoints = list(dict.fromkeys(name for label in labels for name in section[label]))
    rows = []
    for endpoint in endpoints:
        for label in labels:
            measured = section[label].get(endpoint)
            if measured is None:
                continue
            us = measured["us"]
            low, high = us["median_ci95"]
            statements = f"{measured['statements']:.1f}" if not label.startswith("floor") else "-"
            rows.append(
                [
                    endpoint,
                    label,
                    f"{us['median']:.0f}",
                    f"{low:.0f}-{high:.0f}",
                    f"{us['p99']:.0f}",
                    str(us["n"]),
                    statements,
                    str(measured.get("items", "-")),
                ]
            )
    configurations = "\n".join(f"   {label}: {text}" for label, text in section["configurations"].items())
    ratios = "\n".join(
        f"   GET /prs/{{id}} {name}: {ratio['median']:.2f}x (95% CI {ratio['ci95'][0]:.2f}-{ratio['ci95'][1]:.2f},"
        f" {ratio['blocks']} paired blocks)"
        for name, ratio in section["ratios"].items()
    )
    return (
        heading("warm", "Warm latency, containers interleaved block by block (us per invocation)")
        + table(["endpoint", "implementation", "median", "95% CI", "p99", "n", "queries", "items"], rows)
        + "\n"
        + configurations
        + "\n"
        + ratios
    )


def _authorizer(section: dict[str, Any]) -> str:
    rows = [
        [
            credential,
            f"{result['before']['median'] * 1000:.0f}",
            f"{result['now']['median'] * 1000:.0f}",
            f"{result['handler']['median'] * 1000:.0f}",
            f"{result['handler']['p99'] * 1000:.0f}",
            f"{result['round_trips']['before']} -> {result['round_trips']['now']}",
            f"{result['now_over_before']:.2f}x",
        ]
        for credential, result in section.items()
    ]
    return heading(
        "authorizer", "Authorizer per API call, looked up every time: before (Core, per-request statement) vs now"
    ) + table(
        ["credential", "before us", "now us", "whole handler us", "handler p99 us", "round trips", "now/before"], rows
    )


def _summary(entries: list[dict[str, Any]]) -> str:
    rows = []
    for entry in entries:
        value, target = entry["value"], entry["target"]
        met = "-" if value is None else ("yes" if value <= target else "NO")
        rows.append(
            [
                entry["name"],
                "-" if value is None else f"{value:.3g} {entry['unit']}",
                "-" if entry["peer"] is None else f"{entry['peer']:.3g}",
                f"<= {target:g} {entry['unit']}",
                met,
            ]
        )
    return "\n== Summary (issue 21 targets) ==\n" + table(["target", "value", "peer", "target", "met"], rows)


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
            f"{result['function_rss_mib']:.1f}",
            f"{result['reader_private_mib']:.1f}",
            f"{result['function_peak_mib']:.1f}",
            f"{result['reader_rss_mib']:.1f}",
        ]
        for pages, result in section.items()
    ]
    return heading("parsing", "Invoice parsing (text + fields + line items), median of repeats") + table(
        [
            "document",
            "ms/page",
            "ms total",
            "tracemalloc peak MiB",
            "function RSS MiB",
            "+ reader private MiB",
            "= function peak MiB",
            "reader RSS MiB",
        ],
        rows,
    )


def _package(section: dict[str, Any]) -> str:
    rows = [[name, f"{mib:.1f}"] for name, mib in section["sizes_mib"].items()]
    largest = ", ".join(f"{name} {mib:.1f}" for name, mib in section["layer_largest_mib"])
    return (
        heading("package", "Package size after `sam build` (MiB unzipped)")
        + table(["artifact", "MiB"], rows)
        + f"\n   largest in the layer: {largest}"
    )


def _scale(section: dict[str, Any]) -> str:
    from bench.scale import FLAT

    rows = [
        [
            name,
            f"{measured['small_us']['median']:.0f}",
            f"{measured['large_us']['median']:.0f}",
            f"{measured['ratio']:.2f}x",
            "-".join(f"{bound:.2f}" for bound in measured["ratio_ci95"]),
            "flat" if measured["ratio"] <= FLAT else "GROWS",
            str(measured["items"] if measured["items"] is not None else "-"),
        ]
        for name, measured in section["endpoints"].items()
    ]
    sizes = ", ".join(f"{table} {n['small']:,} -> {n['large']:,}" for table, n in section["rows"].items())
    return (
        heading("scale", "Reads as the tables grow (us per invocation, medians)")
        + table(["endpoint", "small", "large", "ratio", "95% CI", "", "items"], rows)
        + f"\n   rows: {sizes}\n   {section['configuration']}"
    )


SECTIONS = {
    "package": _package,
    "parsing": _parsing,
    "cold": _cold,
    "warm": _warm,
    "authorizer": _authorizer,
    "contention": _contention,
    "fanout": _fanout,
    "scale": _scale,
}
