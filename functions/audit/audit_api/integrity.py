"""Checking the audit log's hash chain, for the API (the CLI's `payreq audit verify` does the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payreq.audit_chain import verify_chain
from payreq.db import read_connection

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from payreq.audit_chain import ChainReport


def verify(engine: Engine) -> ChainReport:
    with read_connection(engine) as connection:
        return verify_chain(connection)
