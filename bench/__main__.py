"""`python -m bench [--quick] [--only cold,warm,...]`: run the benchmarks, print the table, write
bench/results.json. `--quick` runs every section with small counts (a smoke run, not figures)."""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
import traceback
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import system

if TYPE_CHECKING:
    from collections.abc import Iterator

SECTIONS = ("package", "parsing", "cold", "warm", "authorizer", "contention", "scale", "fanout")
RESULTS = Path(__file__).with_name("results.json")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts: check the benchmarks run, not figures")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")
    logging.basicConfig(level=logging.WARNING)

    runs, invocations, warmup = (2, 100, 10) if args.quick else (12, 1000, 100)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "platform": platform.platform()},
        "quick": args.quick,
    }
    started = time.perf_counter()
    timer = _SectionTimer(results)
    if "package" in only:
        from bench import package

        with timer("package"):
            results["package"] = package.measure()
    if "parsing" in only:
        from bench import parsing

        with timer("parsing"):
            results["parsing"] = parsing.measure(repeats=3 if args.quick else 20)
    if {"cold", "warm", "authorizer", "contention", "scale"} & set(only):
        with system.database() as database_url:
            from bench import dataset
            from payreq.db.engine import engine_from_url

            engine = engine_from_url(database_url, pool_size=2)
            data = dataset.build(engine, approvable=0)
            if "cold" in only:
                from bench import cold

                with timer("cold"):
                    results["cold"] = cold.measure(engine, database_url, data, runs=runs)
            if "warm" in only:
                from bench import warm

                with timer("warm"):
                    results["warm"] = warm.measure(engine, database_url, data, invocations=invocations, warmup=warmup)
            if "authorizer" in only:
                from bench import authorizer

                with timer("authorizer"):
                    results["authorizer"] = authorizer.measure(
                        engine, database_url, data, invocations=invocations, warmup=warmup
                    )
            if "contention" in only:
                from bench import contention

                with timer("contention"):
                    results["contention"] = contention.measure(engine, database_url, approvers=50)
            if "scale" in only:  # last: it grows the tables the sections above read
                from bench import scale

                with timer("scale"):
                    results["scale"] = scale.measure(
                        engine, database_url, data, invocations=invocations // 4, warmup=warmup // 2
                    )
            engine.dispose()
    if "fanout" in only:
        from bench import fanout

        with timer("fanout"):
            results["fanout"] = fanout.measure(connections=100 if args.quick else 1000)
    results["seconds"] = time.perf_counter() - started

    from bench import report, summary

    results["summary"] = summary.entries(results)

    print(report.render(results))
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten to {args.output}")


class _SectionTimer:
    """Records each section's wall time under results["section_seconds"]; a section that fails is
    recorded as `{"failed": <traceback>}` and the run goes on, so one broken section does not
    cost the others' figures."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.seconds: dict[str, float] = results.setdefault("section_seconds", {})

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception:
            failure = traceback.format_exc()
            print(f"section {name} failed:\n{failure}", file=sys.stderr)
            self.results[name] = {"failed": failure[-3000:]}
        finally:
            self.seconds[name] = round(time.perf_counter() - started, 1)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
