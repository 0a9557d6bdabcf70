"""Running measured child processes, and summarising what they timed."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.system import ROOT

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.targets import Target

# The peers import the PR and invoice functions' models; Payreq's own functions bring their paths.
PEER_PATH = [str(ROOT), str(ROOT / "functions" / "pr"), str(ROOT / "functions" / "invoice")]


@dataclass(frozen=True)
class Summary:
    count: int
    minimum: float
    median: float
    p99: float
    maximum: float
    values: tuple[float, ...] = ()

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return cls(len(ordered), ordered[0], statistics.median(ordered), p99, ordered[-1], tuple(ordered))

    def as_dict(self) -> dict[str, Any]:
        low, high = median_interval(self.values) if self.values else (self.median, self.median)
        return {
            "n": self.count,
            "min": self.minimum,
            "median": self.median,
            "median_ci95": [low, high],
            "p99": self.p99,
            "max": self.maximum,
        }


def median_interval(values: Sequence[float]) -> tuple[float, float]:
    """A distribution-free 95% confidence interval for the median: the order statistics at
    n/2 -+ 1.96 sqrt(n)/2 (the binomial's normal approximation; fine from n ~ 10)."""
    ordered = sorted(values)
    n = len(ordered)
    half = 1.96 * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half))
    high = min(n - 1, math.ceil(n / 2 + half) - 1)
    return ordered[low], ordered[high]


_LINES: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}


class Serving:
    """A warm container kept running (`python -m bench.child serve`), asked for blocks of
    invocations in turn with other containers, so that machine noise falls on every target alike."""

    def __init__(self, target: Target, spec: dict[str, Any]) -> None:
        self.target = target
        self._scratch = tempfile.TemporaryDirectory(prefix="payreq-bench-serve-")
        spec_path = Path(self._scratch.name) / "spec.json"
        spec_path.write_text(json.dumps({"module": target.module, "path": PEER_PATH, **spec}, default=str))
        self._log = (Path(self._scratch.name) / "output.log").open("w")
        command = [sys.executable, "-m", "bench.child", "serve", str(spec_path), "-"]
        # Orders go in on stdin and answers come back on stdout, a JSON line each; the log aside.
        self._process = subprocess.Popen(command, cwd=ROOT, env=target.environment, stderr=self._log, **_LINES)
        self._answer()  # imported and ready

    def run(self, endpoint: str, start: int, count: int) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"endpoint": endpoint, "start": start, "count": count}) + "\n")
        self._process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._log.flush()
            output = (Path(self._scratch.name) / "output.log").read_text()
            raise RuntimeError(f"{self.target.label} stopped serving:\n{output[-3000:]}")
        return dict(json.loads(line))

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._scratch.cleanup()


def run_child(
    mode: str, target: Target, spec: dict[str, Any], *, timeout: float = 1800
) -> tuple[dict[str, Any], float]:
    """Run `python -m bench.child <mode>` as `target`; its result and the wall time from spawn to exit."""
    with tempfile.TemporaryDirectory(prefix="payreq-bench-child-") as scratch:
        spec_path, result_path = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        spec_path.write_text(json.dumps({"module": target.module, "path": PEER_PATH, **spec}, default=str))
        log_path = Path(scratch) / "output.log"
        started = time.perf_counter()
        with log_path.open("w") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.child", mode, str(spec_path), str(result_path)],
                cwd=ROOT,
                env=target.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            # wait() without a timeout blocks in waitpid and returns as the child exits; with one,
            # CPython polls with sleeps of up to 50 ms, which rounded every cold start up to the
            # next 50 ms step. The timeout is a watchdog's instead.
            watchdog = threading.Timer(timeout, child.kill)
            watchdog.start()
            try:
                returncode = child.wait()
            finally:
                watchdog.cancel()
        wall = time.perf_counter() - started
        output = log_path.read_text()
        if returncode != 0 or not result_path.exists():
            raise RuntimeError(f"{target.label} ({mode}) failed:\n{output[-3000:]}")
        result = json.loads(result_path.read_text())
        errors = [line for line in output.splitlines() if '"level":"ERROR"' in line.replace(" ", "")]
        if errors:
            result["errors"] = errors[:5]  # a handler's own error log, for the report
        return result, wall


def import_profile(target: Target, top: int = 8) -> list[tuple[str, float]]:
    """`-X importtime` of the target's handler: self time per top-level package, largest first (ms)."""
    finished = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import sys; sys.path[:0] = {PEER_PATH!r}; import {target.module}"],
        cwd=ROOT,
        env=target.environment,
        capture_output=True,
        text=True,
        check=True,
    )
    by_package: dict[str, float] = {}
    for line in finished.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = [field.strip() for field in line.removeprefix("import time:").split("|")]
        if not fields[0].isdigit():
            continue  # the header line
        package = fields[2].lstrip().split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + int(fields[0]) / 1000
    return sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:top]
