"""CI's last check: a process the run started that still runs from this checkout fails the run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "leftover-processes.sh"


def leftover_check(snapshot: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "check", str(snapshot)],
        capture_output=True,
        text=True,
        env={**os.environ, "PAYREQ_LEFTOVER_GRACE": "1"},
        check=False,
    )


def test_a_process_left_running_fails_the_check_until_it_is_stopped(tmp_path: Path) -> None:
    # Given the processes before a run, and one the run starts in the checkout and leaves running
    # (tmp_path is inside the checkout: .pytest-tmp/)
    snapshot = tmp_path / "before"
    subprocess.run(["bash", str(SCRIPT), "snapshot", str(snapshot)], check=True)
    leftover = subprocess.Popen(["sleep", "60"], cwd=tmp_path)

    try:
        # When the check runs
        found = leftover_check(snapshot)

        # Then it fails, naming the process
        assert found.returncode == 1, found.stdout
        assert f"{leftover.pid} sleep 60" in found.stderr
    finally:
        leftover.kill()
        leftover.wait()

    # And once it is stopped, the check passes
    assert leftover_check(snapshot).returncode == 0
