"""`make complexity`: no function or class of the product code above radon's rank C.

Ranks D and worse (cyclomatic complexity 21 and more) fail, in functions/, layers/, local/ and the
operator CLI (cli/); migrations are history, written once and never changed, so they are left out.
scripts/complexity-allowlist.txt names the offenders being fixed elsewhere (`path:function`, as
printed below); an entry there is a debt, and a listed block that is no longer an offender is
reported so the entry can go.

    python scripts/check_complexity.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("functions", "layers", "local", "cli")
ALLOWLIST = ROOT / "scripts" / "complexity-allowlist.txt"
WORST_ALLOWED = "C"


def sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts and ".aws-sam" not in path.parts
    )


def offenders(paths: list[Path], root: Path = ROOT) -> dict[str, int]:
    """`path:function` (path from `root`) -> complexity, for every block ranked worse than WORST_ALLOWED."""
    found = {}
    for path in paths:
        for block in cc_visit(path.read_text()):
            if cc_rank(block.complexity) > WORST_ALLOWED:
                found[f"{path.relative_to(root)}:{block.fullname}"] = block.complexity
    return found


def allowed(allowlist: Path = ALLOWLIST) -> set[str]:
    if not allowlist.exists():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in allowlist.read_text().splitlines())
    return {line for line in lines if line}


def main() -> int:
    found = offenders(sources())
    allowlist = allowed()
    failures = {name: complexity for name, complexity in found.items() if name not in allowlist}
    for name, complexity in sorted(failures.items()):
        print(f"{name}: complexity {complexity} (rank {cc_rank(complexity)}), above {WORST_ALLOWED}", file=sys.stderr)
    for name in sorted(allowlist - set(found)):
        print(f"{name}: no longer above {WORST_ALLOWED}; remove it from {ALLOWLIST.relative_to(ROOT)}")
    waived = len(allowlist & set(found))
    print(
        f"complexity: {len(failures)} above {WORST_ALLOWED}, {waived} allowlisted (to fix), in {len(PACKAGES)} folders"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
