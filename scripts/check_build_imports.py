"""After `sam build`: every function's handler imports with nothing but what Lambda will give it,
its own build directory and the shared layer (no virtualenv, no site-packages: `python -S`).

This is what catches a module of the layer importing a package that only some functions carry
(functions/<fn>/requirements.txt), before a deployed function fails at its cold start. It also
fails when a build carries development code: the operator CLI or the local stack.

    python scripts/check_build_imports.py .aws-sam/build
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "local"))

from payreq_local.environment import LOCAL_PARAMETERS  # noqa: E402
from payreq_local.intrinsics import Resolver  # noqa: E402
from payreq_local.template import load_template, read_application  # noqa: E402

# Enough configuration for every module's import-time settings checks; nothing is connected to.
ENVIRONMENT = {
    "PATH": os.environ.get("PATH", ""),
    "PAYREQ_STAGE": "dev",
    "DATABASE_URL": "postgresql://payreq@/payreq?host=/nonexistent",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AUTH_GOOGLE_CLIENT_ID": "client",
    "AUTH_GOOGLE_CLIENT_SECRET": "secret",
    "AUTH_PUBLIC_BASE_URL": "https://payreq.example",
    # As the template sets it: a deployed stage refuses to start without a non-loopback origin.
    "AUTH_ALLOWED_ORIGINS": "https://payreq.example",
}


# Development code, never deployed: the operator CLI (and where it once lived) and the local stack.
DEVELOPMENT_ONLY = ("payreq_cli", "payreq/cli", "payreq_local")


def development_code_in(artifact: Path) -> list[Path]:
    return [artifact / folder for folder in DEVELOPMENT_ONLY if (artifact / folder).exists()]


def main() -> int:
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build").resolve()
    template = load_template()
    application = read_application(template, Resolver(template, dict(LOCAL_PARAMETERS)))
    artifacts = [build / "SharedLayer" / "python", *(build / name for name in sorted(application.functions))]
    shipped = [found for artifact in artifacts for found in development_code_in(artifact)]
    for found in shipped:
        print(f"{found.relative_to(build)}: development code in a deployed artifact", file=sys.stderr)
    failed = 0
    for name, spec in sorted(application.functions.items()):
        path = [str(build / name), str(build / "SharedLayer" / "python")]
        result = subprocess.run(
            [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {path!r}; import {spec.module}"],
            env=ENVIRONMENT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            failed += 1
            last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
            print(f"{name}: {spec.module} does not import from its build: {last}", file=sys.stderr)
    print(
        f"{len(application.functions) - failed}/{len(application.functions)} functions import from their builds alone"
    )
    return 1 if failed or shipped else 0


if __name__ == "__main__":
    sys.exit(main())
