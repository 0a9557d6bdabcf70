"""`payreq`: the operator's command line (`payreq db upgrade`, ...)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from payreq.db import migrate

if TYPE_CHECKING:
    from collections.abc import Sequence


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
    except Exception as error:  # one line for the operator; the traceback helps no one here
        print(f"payreq: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
