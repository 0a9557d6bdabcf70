"""Cold starts: a fresh process imports one handler and serves its first real request, as a new
Lambda container does (init + first invoke), beside the lambdalith peer and the raw-driver floor.
Runs are interleaved across targets so that machine noise falls on all of them alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench import endpoints, targets
from bench.measure import Summary, import_profile, run_child

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bench.dataset import Dataset


def measure(engine: Engine, database_url: str, data: Dataset, *, runs: int) -> dict[str, Any]:
    first = endpoints.first_requests(engine, data)
    subjects: list[tuple[str, targets.Target, dict[str, Any]]] = [
        (function, targets.payreq(function, database_url), first[function]) for function in targets.FUNCTIONS
    ]
    subjects += [
        ("peer", targets.peer(database_url), endpoints.get_pr(data)),
        ("floor", targets.floor(database_url), endpoints.get_pr(data)),
    ]
    walls: dict[str, list[float]] = {name: [] for name, _, _ in subjects}
    imports: dict[str, list[float]] = {name: [] for name, _, _ in subjects}
    firsts: dict[str, list[float]] = {name: [] for name, _, _ in subjects}
    for round_ in range(runs + 1):
        for name, target, event in subjects:
            result, wall = run_child("cold", target, {"event": event})
            if result["status"] >= 500:
                raise RuntimeError(f"{name}: the first request answered {result['status']}")
            if round_ == 0:
                continue  # the first round fills the page cache and the broadcaster's backlog
            walls[name].append(wall * 1000)
            imports[name].append(result["import_s"] * 1000)
            firsts[name].append(result["first_request_s"] * 1000)
    results: dict[str, Any] = {}
    for name, target, _ in subjects:
        results[name] = {
            "label": target.label,
            "module": target.module,
            "total_ms": Summary.of(walls[name]).as_dict(),
            "import_ms_median": Summary.of(imports[name]).median,
            "first_request_ms_median": Summary.of(firsts[name]).median,
            "importtime_top_ms": import_profile(target),
        }
    pr, peer, floor = (results[name]["total_ms"]["median"] for name in ("PrFunction", "peer", "floor"))
    results["ratios"] = {"pr_vs_peer": pr / peer, "pr_vs_floor": pr / floor}
    return results
