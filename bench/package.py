"""Package sizes: `sam build` (offline, as `make sam-build` runs it) into a scratch directory, then
the shared layer unzipped and each function's own code. The layer figure leaves out what the
Lambda Python runtime already provides (boto3, botocore and their own dependencies)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.system import ROOT

# In the python3.12 runtime already; the layer pins them only so that it runs what the tests ran.
# (Distribution names as in `*.dist-info`, and the modules they install.)
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python_dateutil", "dateutil", "urllib3", "six"}
MIB = 2**20


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def package_of(entry: Path) -> str:
    """`botocore-1.43.dist-info` and `botocore/` are both botocore; `six.py` is six."""
    if entry.name.endswith((".dist-info", ".data")):
        return entry.name.split("-")[0].lower()
    return entry.name.removesuffix(".py")


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="payreq-bench-build-") as build_dir:
        subprocess.run(
            ["make", "--no-print-directory", "sam-build", f"BUILD_DIR={build_dir}"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        build = Path(build_dir)
        packages: dict[str, int] = {}
        for entry in (build / "SharedLayer" / "python").iterdir():
            packages[package_of(entry)] = packages.get(package_of(entry), 0) + size(entry)
        ours = {name: bytes_ for name, bytes_ in packages.items() if name not in RUNTIME_PROVIDED}
        sizes = {
            "shared layer (boto3/botocore & co excluded)": sum(ours.values()) / MIB,
            "shared layer (as built)": sum(packages.values()) / MIB,
        }
        for function in sorted(path for path in build.iterdir() if path.is_dir() and path.name != "SharedLayer"):
            sizes[function.name] = size(function) / MIB
        largest = sorted(((name, bytes_ / MIB) for name, bytes_ in ours.items()), key=lambda item: -item[1])[:8]
        return {"sizes_mib": sizes, "layer_largest_mib": largest, "runtime_provided": sorted(RUNTIME_PROVIDED)}
