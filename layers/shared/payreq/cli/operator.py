"""Who acts when an operator runs `payreq`: recorded in the audit log like an API caller."""

from __future__ import annotations

import getpass
import socket
import sys
import uuid
from pathlib import Path

from payreq.context import RequestContext

# A checkout's function folders, for the commands that run the functions' own flows. The layer is
# `layers/shared/payreq`, so the checkout is three folders up; in Lambda there is none (and no CLI).
CHECKOUT = Path(__file__).resolve().parents[4]
FUNCTIONS = ("pr", "invoice", "payment", "auth", "audit", "sync")


def operator_context(command: str) -> RequestContext:
    """No user acts (actor_id is empty, as for any system change); the request id and user agent
    name the CLI command and the operator's login, so the audit log says who did it and how."""
    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):  # no passwd entry (containers): the host still says where
        who = socket.gethostname()
    return RequestContext(
        request_id=f"cli-{uuid.uuid4().hex[:16]}",
        auth_method="system",
        user_agent=f"payreq-cli ({command}; operator {who})",
    )


class FunctionCodeMissing(Exception):
    """The command runs a function's flows, but there is no checkout with its code here."""


def use_function_code() -> None:
    """Make the functions' packages (`auth_api`, `pr_api`, ...) importable, as each Lambda has its own.

    Their folders are uniquely named packages (checked by the template's build), so putting all of
    them on the path at once is safe; a test run or an installed copy that already has them keeps
    its own.
    """
    missing = [name for name in FUNCTIONS if not (CHECKOUT / "functions" / name).is_dir()]
    if missing:
        raise FunctionCodeMissing(f"needs the functions' code: run it from a Payreq checkout (not found: {CHECKOUT})")
    for name in FUNCTIONS:
        folder = str(CHECKOUT / "functions" / name)
        if folder not in sys.path:
            sys.path.append(folder)
