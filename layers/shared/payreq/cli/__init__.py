"""`payreq`: the operator's command line.

Operator commands work against any database the layer's settings name (`DATABASE_URL`, or the
`DB_*` variables the functions use): `db`, `users`, `tokens`, `audit`, `seed-demo`. Changes go
through the functions' own flows and are audited with the operator as the acting party (see
`payreq.cli.operator`). Development commands (`openapi export`, `events generate`) need a checkout
and the local stack's package, imported only when they run, so the layer stays importable in Lambda.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_DATABASE = "(DATABASE_URL or DB_* settings)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage first; one line says what is wrong, --help says the rest.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="payreq", description="Operate a Payreq deployment, and develop on one.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help=f"schema migrations {_DATABASE}", description=f"Schema migrations {_DATABASE}.")
    db_commands = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate up to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = db_commands.add_parser("downgrade", help="migrate down to a revision ('base' empties the schema)")
    downgrade.add_argument("revision")
    db_commands.add_parser("current", help="show the database's current revision")

    commands.add_parser(
        "seed-demo",
        help=f"demo users and data, idempotently {_DATABASE}",
        description="Demo users (alice, bob, carol@example.com) and demo data: an approval flow, payment requests "
        "in each state, an invoice, a payment method. Safe to run again; never for a production database.",
    )

    users = commands.add_parser("users", help=f"create users, grant and revoke permissions {_DATABASE}")
    user_commands = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = user_commands.add_parser("create", help="create a user before their first sign-in")
    create.add_argument("email")
    create.add_argument("name", help="display name (quote it)")
    create.add_argument("permissions", nargs="*", metavar="PERMISSION", help="e.g. pr.read pr.write")
    for action, verb in (("grant", "add"), ("revoke", "take away")):
        change = user_commands.add_parser(action, help=f"{verb} permissions")
        change.add_argument("email")
        change.add_argument("permissions", nargs="+", metavar="PERMISSION")

    tokens = commands.add_parser("tokens", help=f"API tokens for scripts and admin clients {_DATABASE}")
    token_commands = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = token_commands.add_parser("issue", help="issue a token for a user; prints its secret once")
    issue.add_argument("email", help="the token's owner; its scopes must be permissions they hold")
    issue.add_argument("--name", required=True, help="what the token is for")
    issue.add_argument("--scope", dest="scopes", action="append", required=True, help="a permission (repeat)")
    issue.add_argument("--days", type=int, default=90, help="days until it expires (1-365, default 90)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")

    audit = commands.add_parser("audit", help=f"the audit log {_DATABASE}")
    audit_commands = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    audit_commands.add_parser("verify", help="walk the hash chain; exit 1 naming the first broken row")

    openapi = commands.add_parser("openapi", help="openapi.json from the functions' resolvers (development)")
    openapi_commands = openapi.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = openapi_commands.add_parser("export", help="write openapi.json (commit it)")
    export.add_argument("--check", action="store_true", help="fail if openapi.json has drifted instead")

    events = commands.add_parser("events", help="events/*.json from template.yaml (development)")
    event_commands = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = event_commands.add_parser("generate", help="write one event per route and trigger (commit them)")
    generate.add_argument("--check", action="store_true", help="fail if events/ has drifted instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = _COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return run(args)
    except Exception as error:  # one line for the operator; the traceback helps no one here
        print(f"payreq: error: {_one_line(error)}", file=sys.stderr)
        return 1


def _one_line(error: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return " ".join(str(error).split()) or type(error).__name__


def _db(args: argparse.Namespace) -> int:
    from payreq.db import migrate

    if args.action == "upgrade":
        migrate.upgrade(args.revision)
    elif args.action == "downgrade":
        migrate.downgrade(args.revision)
    else:
        from payreq.db import get_engine

        revision, head = migrate.current_revision(get_engine()), migrate.head_revision()
        print(f"{revision or 'none (an empty database)'}{' (head)' if revision == head else f' (head is {head})'}")
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    from payreq.cli.demo import seed_demo
    from payreq.db import get_engine

    print(seed_demo(get_engine()).describe())
    return 0


def _users(args: argparse.Namespace) -> int:
    from payreq.cli import accounts

    if args.action == "create":
        print(accounts.create_user(args.email, args.name, args.permissions))
    elif args.action == "grant":
        print(accounts.grant(args.email, args.permissions))
    else:
        print(accounts.revoke(args.email, args.permissions))
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from payreq.cli import accounts

    if args.action == "issue":
        about, secret = accounts.issue_token(args.email, args.name, args.scopes, args.days)
        print(about, file=sys.stderr)  # stdout is the secret alone, for `TOKEN=$(payreq tokens issue ...)`
        print(secret)
    else:
        print(accounts.revoke_token(args.token_id))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from payreq.cli.audit import verify_audit_chain

    print(verify_audit_chain())
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from payreq_local.__main__ import main as local_main

    return local_main(["openapi", *(["--check"] if args.check else [])])


def _events(args: argparse.Namespace) -> int:
    from payreq_local.event_files import generate

    return generate(check=args.check)


_COMMANDS: dict[tuple[str, str | None], Callable[[argparse.Namespace], int]] = {
    ("db", "upgrade"): _db,
    ("db", "downgrade"): _db,
    ("db", "current"): _db,
    ("seed-demo", None): _seed_demo,
    ("users", "create"): _users,
    ("users", "grant"): _users,
    ("users", "revoke"): _users,
    ("tokens", "issue"): _tokens,
    ("tokens", "revoke"): _tokens,
    ("audit", "verify"): _audit,
    ("openapi", "export"): _openapi,
    ("events", "generate"): _events,
}


if __name__ == "__main__":
    sys.exit(main())
