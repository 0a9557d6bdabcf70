"""Write the requirements.txt files SAM builds from, pinned from uv.lock: the shared layer's
(pyproject's dependencies) and each function's own (its extras, minus what the layer has).

    python scripts/export_requirements.py           # rewrite them (`make requirements`)
    python scripts/export_requirements.py --check   # fail if any has drifted from uv.lock
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "shared" / "requirements.txt"

# Each function's extras (pyproject's [project.optional-dependencies]), installed with its code.
FUNCTION_EXTRAS: dict[str, tuple[str, ...]] = {
    "pr": (),
    "invoice": ("pdf",),
    "payment": ("banking",),
    "auth": ("jwt", "oauth"),
    "audit": (),
    "sync": ("jwt",),
    "migration": ("migrations",),
    "unrouted": (),
    "webhooks": (),
}
HEADER = "# Generated from uv.lock by `make requirements`; do not edit.\n"


def uv() -> str:
    found = sorted(ROOT.glob(".cache/uv-*/bin/uv"))
    if not found:
        sys.exit("uv is not installed yet: run `make setup` first")
    return str(found[-1])


def pinned(*extras: str) -> list[str]:
    """The locked closure of the runtime dependencies plus `extras`, one `name==version` per line."""
    command = [uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--no-header"]
    command += ["--no-annotate", "--quiet", *(f"--extra={extra}" for extra in extras)]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [line for line in output.splitlines() if line and not line.startswith("#")]


def expected() -> dict[Path, str]:
    layer = pinned()
    files = {
        LAYER: HEADER + "# The shared layer: what every function needs.\n" + "".join(f"{line}\n" for line in layer)
    }
    for function, extras in FUNCTION_EXTRAS.items():
        own = [line for line in pinned(*extras) if line not in layer] if extras else []
        note = f"# {function}'s own dependencies (extras: {', '.join(extras) or 'none'}); the rest is in the layer.\n"
        files[ROOT / "functions" / function / "requirements.txt"] = HEADER + note + "".join(f"{line}\n" for line in own)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args()
    stale = False
    for path, text in expected().items():
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale = True
            name = str(path.relative_to(ROOT))
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True), name, name))
        else:
            path.write_text(text)
    if stale:
        print("requirements.txt files are stale: run 'make requirements' and commit them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
