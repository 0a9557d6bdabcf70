"""`payreq`: the operator's command line (`payreq db upgrade`, `payreq audit verify`, ...)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from payreq.audit_chain import verify_chain
from payreq.db import get_engine, migrate, read_connection

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payreq.audit_chain import ChainReport


class ChainBroken(Exception):
    """The audit log's hash chain does not verify; the message names the first broken row."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payreq", description="Operate a Payreq deployment.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema migrations (DATABASE_URL or DB_* settings)")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate up to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = db_commands.add_parser("downgrade", help="migrate down to a revision ('base' empties the schema)")
    downgrade.add_argument("revision")
    db_commands.add_parser("current", help="show the database's current revision")

    audit = commands.add_parser("audit", help="the audit log (DATABASE_URL or DB_* settings)")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_commands.add_parser("verify", help="walk the hash chain; exit 1 naming the first broken row")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "db":
            if args.db_command == "upgrade":
                migrate.upgrade(args.revision)
            elif args.db_command == "downgrade":
                migrate.downgrade(args.revision)
            else:
                migrate.current()
        elif args.command == "audit":
            print(verify_audit_chain())
    except Exception as error:  # one line for the operator; the traceback helps no one here
        print(f"payreq: error: {error}", file=sys.stderr)
        return 1
    return 0


def verify_audit_chain() -> str:
    """One line on success; raises ChainBroken (one line too) on the first broken link."""
    with read_connection(get_engine()) as connection:
        report = verify_chain(connection)
    return describe(report)


def describe(report: ChainReport) -> str:
    if report.first_broken is not None:
        raise ChainBroken(
            f"audit chain broken at {report.first_broken.describe()}; {report.checked} events verified before it"
        )
    if report.head_hash is None:
        return "audit chain intact: no events yet"
    return f"audit chain intact: {report.checked} events, head seq {report.head_seq} hash {report.head_hash.hex()}"


if __name__ == "__main__":
    sys.exit(main())
