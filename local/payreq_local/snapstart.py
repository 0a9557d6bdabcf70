"""SnapStart, as the local stack plays it: a worker that has imported its handler (the version's
init) runs the before-snapshot hooks, then the after-restore hooks, in the order Lambda runs them,
before it reports ready. Nothing is snapshotted (a worker is its own only restore), but what the
hooks prime and drop is exercised on every `make run`: a hook that breaks a request breaks it here.

`PAYREQ_LOCAL_SNAPSTART=0` starts workers as a plain init (no hooks), as `$LATEST` would run.
The benchmarks emulate the snapshot itself with fork() (bench/snapstart.py).
"""

from __future__ import annotations

import os
import sys
import time


def enabled() -> bool:
    return os.environ.get("PAYREQ_LOCAL_SNAPSTART", "1") != "0"


def snapshot_and_restore() -> float | None:
    """Run the hooks the handler registered; the milliseconds the after-restore hooks took, or None
    when SnapStart is off or the handler registered none (the layer was never imported)."""
    hooks = sys.modules.get("payreq.snapstart")
    if not enabled() or hooks is None:
        return None
    hooks.run_before_snapshot()
    restoring = time.perf_counter()
    hooks.run_after_restore()
    return round((time.perf_counter() - restoring) * 1000, 1)
