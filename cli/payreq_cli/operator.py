"""Who acts when an operator runs `payreq`: recorded in the audit log like an API caller."""

from __future__ import annotations

import getpass
import socket
import uuid

from payreq.context import RequestContext


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
