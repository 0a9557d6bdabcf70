"""`results["summary"]`: one entry per target of issue 21, each `{"name", "value", "unit", "peer",
"target"}`, and `detail` where a figure needs its context. `peer` is the peer's figure for the same
quantity where there is one (null otherwise; null too where `value` is already a ratio to the peer).
A section that did not run gives null values."""

from __future__ import annotations

from typing import Any


def entries(results: dict[str, Any]) -> list[dict[str, Any]]:
    def section(name: str) -> dict[str, Any]:
        found = results.get(name) or {}
        return {} if "failed" in found else dict(found)

    cold = section("cold")
    deployed = cold.get("as_deployed") or {}
    snapstart = cold.get("snapstart") or {}
    warm = section("warm")
    warm_ratios = warm.get("ratios") or {}
    fanout = section("fanout")
    parsing = section("parsing")
    package = section("package")
    return [
        # Like for like: both as the template ships Payreq (SnapStart on), which the peer could use as
        # well; every other pairing (either without SnapStart) is in cold.as_deployed.ratios.
        _entry(
            "cold_as_deployed_ratio",
            (deployed.get("ratios") or {}).get("payreq_snapstart_vs_peer_snapstart"),
            "x",
            None,
            0.8,
        ),
        _entry(
            "snapstart_restore_ratio",
            snapstart.get("ratio"),
            "x",
            None,
            3.0,
            # The ratio's base is the restored copy's own warm repeats; the served warm container's
            # median of the same request (local socket, no IAM) is beside it, to check they agree.
            detail={
                "restore_to_first_response_ms": (snapstart.get("restore_to_first_response_ms") or {}).get("median"),
                "ratio_with_fork": snapstart.get("ratio_with_fork"),
                "warm_after_restore_ms": _ms((snapstart.get("warm_same_request_us") or {}).get("median")),
                "warm_served_ms": _ms(_served_get_pr_us(warm)),
                **{name: part["median"] for name, part in (snapstart.get("parts_ms") or {}).items()},
            },
        ),
        _entry(
            "warm_get_pr_floor_ratio",
            (warm_ratios.get("get_pr_vs_floor_pg8000") or {}).get("median"),
            "x",
            (warm_ratios.get("peer_get_pr_vs_floor_pg8000") or {}).get("median"),
            1.5,
            detail={
                name: (warm_ratios.get(name) or {}).get("median")
                for name in ("get_pr_vs_floor_pg8000_unnamed", "get_pr_vs_floor_psycopg")
            },
        ),
        # bench/fanout.py belongs to the fan-out work (issue 21, item 4): its own names once it has
        # them, until then what it measures today (one invocation, every connection).
        _entry("fanout_1000_s", fanout.get("fanout_1000_s", fanout.get("last_client_s")), "s", None, 0.5),
        _entry("fanout_10000_partition_max_s", fanout.get("fanout_10000_partition_max_s"), "s", None, 1.0),
        _entry(
            "parse_ms_per_page",
            max((document["ms_per_page"] for document in parsing.values()), default=None),
            "ms",
            None,
            50.0,
        ),
        # The invoice function's memory at its peak: its own resident set plus its reader child's
        # private memory (bench/parsing.py).
        _entry(
            "parse_peak_mib",
            max((document["function_peak_mib"] for document in parsing.values()), default=None),
            "MiB",
            None,
            128.0,
        ),
        _entry(
            "layer_mib",
            (package.get("sizes_mib") or {}).get("shared layer (boto3/botocore & co excluded)"),
            "MiB",
            None,
            40.0,
        ),
    ]


def _entry(
    name: str,
    value: float | None,
    unit: str,
    peer: float | None,
    target: float,
    *,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry = {"name": name, "value": value, "unit": unit, "peer": peer, "target": target}
    return {**entry, "detail": detail} if detail is not None else entry


def _served_get_pr_us(warm: dict[str, Any]) -> float | None:
    measured = (warm.get("payreq (pg8000)") or {}).get("GET /prs/{id}") or {}
    return (measured.get("us") or {}).get("median")


def _ms(us: float | None) -> float | None:
    return None if us is None else us / 1000
