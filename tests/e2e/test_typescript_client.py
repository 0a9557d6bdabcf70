"""The generated TypeScript client, as a frontend or a script would use it: its example raises a
payment request, has it approved on the version read (If-Match, Idempotency-Key) and reads the
refusal of a second approval from the error envelope, against the running local stack."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

from payreq_local.template import ROOT

if TYPE_CHECKING:
    from support.local_stack import LocalStack

CLIENT = ROOT / "clients" / "typescript"


def test_the_clients_example_runs_against_the_local_stack(stack: LocalStack) -> None:
    # Given the client's dependencies, installed from its lock file
    subprocess.run(["bash", str(ROOT / "scripts" / "typescript-client.sh"), "install"], check=True)

    # When its example runs against the stack
    run = subprocess.run(
        ["npm", "run", "--silent", "example"],
        cwd=CLIENT,
        env={**os.environ, "PAYREQ_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then bob's approval of what he read went through, and approving again was refused as a conflict
    assert run.returncode == 0, run.stderr + run.stdout
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["number"].startswith("PR-")
    assert outcome["status"] in ("pending", "approved")
    assert outcome["etag"] is not None
    assert outcome["again"].startswith(("409 ", "412 "))
