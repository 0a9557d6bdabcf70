"""`payreq`: the operator's command line.

Operator commands work against any database the layer's settings name (`DATABASE_URL`, or the
`DB_*` variables the functions use): `db`, `users`, `tokens`, `audit`, `seed-demo`. Changes go
through the functions' own flows and are audited with the operator as the acting party (see
`payreq_cli.operator`). Development commands (`openapi export`, `events generate`) need a checkout
and the local stack's package, imported only when they run.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_EPILOG = """\
Operator commands (db, seed-demo, users, tokens, audit, webhooks) connect to DATABASE_URL, or to what the
DB_* variables name as they do for the functions (DB_HOST, DB_USER, DB_AUTH=iam|secret, ...).
Changes are made through the functions' own flows and audited with the CLI and your login as the
actor. Development commands (openapi, events) need a checkout. Examples:

  payreq db upgrade
  payreq users create ana@example.com "Ana Admin" users.admin audit.read
  payreq users grant ana@example.com tokens.manage
  TOKEN=$(payreq tokens issue ana@example.com --name "nightly report" --scope audit.read)
  payreq audit verify
  payreq webhooks replay-failed <subscription id>
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage first; one line says what is wrong, --help says the rest.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _command(commands: Any, name: str, summary: str, **options: Any) -> argparse.ArgumentParser:
    """A subcommand whose --help starts with the same sentence the list of commands shows."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=options.pop("description", f"{summary[0].upper()}{summary[1:]}."), **options
    )
    return parser


def _group(commands: Any, name: str, summary: str) -> Any:
    """A command whose actions are subcommands of its own (`payreq users grant`)."""
    return _command(commands, name, summary).add_subparsers(dest="action", required=True, metavar="ACTION")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="payreq",
        description="Operate a Payreq deployment, and develop on one.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_commands = _group(commands, "db", "schema migrations (Alembic), as the schema's owner")
    upgrade = _command(db_commands, "upgrade", "migrate up to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = _command(db_commands, "downgrade", "migrate down to a revision ('base' empties the schema)")
    downgrade.add_argument("revision")
    _command(db_commands, "current", "print the database's revision, and whether it is head")

    _command(
        commands,
        "seed-demo",
        "demo users and demo data, idempotently",
        description="Demo users (alice, bob, carol@example.com) and demo data: an approval flow, payment requests "
        "in each state, an invoice, a payment method. Safe to run again; never for a production database.",
    )

    user_commands = _group(commands, "users", "create users, grant and revoke their permissions")
    create = _command(
        user_commands,
        "create",
        "create a user before their first sign-in (a verified e-mail links the first sign-in where "
        "AUTH_EMAIL_LINKING_ISSUERS allows it; elsewhere, `users link`)",
    )
    create.add_argument("email")
    create.add_argument("name", help="display name (quote it)")
    create.add_argument("permissions", nargs="*", metavar="PERMISSION", help="e.g. pr.read pr.write")
    link = _command(
        user_commands,
        "link",
        "let an identity provider's subject sign in as a user (issuers not trusted to link by e-mail)",
    )
    link.add_argument("email", help="the user")
    link.add_argument("issuer", help="the identity provider's issuer URL, exactly as its tokens' `iss`")
    link.add_argument("subject", help="the person's `sub` at that issuer")
    for action, verb in (("grant", "add permissions to"), ("revoke", "take permissions away from")):
        change = _command(user_commands, action, f"{verb} a user")
        change.add_argument("email")
        change.add_argument("permissions", nargs="+", metavar="PERMISSION")

    token_commands = _group(commands, "tokens", "API tokens for scripts and admin clients")
    issue = _command(
        token_commands,
        "issue",
        "issue a token for a user",
        description="Issue a token for a user. The secret is printed once, alone on stdout (the rest goes to "
        "stderr): store it now, it cannot be retrieved again.",
    )
    issue.add_argument("email", help="the token's owner; its scopes must be permissions they hold")
    issue.add_argument("--name", required=True, help="what the token is for")
    issue.add_argument(
        "--scope", dest="scopes", action="append", required=True, metavar="PERMISSION", help="a scope (repeat)"
    )
    issue.add_argument("--days", type=int, default=90, help="days until it expires (1-365, default 90)")
    revoke = _command(token_commands, "revoke", "revoke a token by its id (anyone's)")
    revoke.add_argument("token_id")

    audit_commands = _group(commands, "audit", "the audit log")
    verify = _command(
        audit_commands,
        "verify",
        "walk the hash chain and compare its head with the latest S3 anchor; exit 1 naming the first broken row "
        "or a truncated or rewritten tail",
    )
    verify.add_argument(
        "--anchor-bucket",
        default=os.environ.get("AUDIT_ANCHOR_BUCKET") or None,
        help="the stack's audit anchor bucket (default: $AUDIT_ANCHOR_BUCKET; without one the tail is unchecked)",
    )

    webhook_commands = _group(commands, "webhooks", "outbound webhooks: subscriptions and their deliveries")
    _command(webhook_commands, "list", "every subscription, enabled or not (and why not)")
    for action, verb in (
        ("enable", "enable a subscription (its pending deliveries resume, in order)"),
        ("disable", "disable a subscription (deliveries wait)"),
    ):
        _command(webhook_commands, action, verb).add_argument("subscription_id")
    log = _command(webhook_commands, "deliveries", "a subscription's latest deliveries, newest first")
    log.add_argument("subscription_id")
    log.add_argument("--status", choices=("pending", "succeeded", "failed"), help="only these")
    again = _command(webhook_commands, "replay", "send deliveries again (same webhook-id and body, signed afresh)")
    again.add_argument("subscription_id")
    again.add_argument("delivery_ids", nargs="+", metavar="DELIVERY_ID")
    failed = _command(webhook_commands, "replay-failed", "send again every delivery given up on, oldest first")
    failed.add_argument("subscription_id")

    openapi_commands = _group(commands, "openapi", "openapi.json from the functions' resolvers (development)")
    export = _command(openapi_commands, "export", "write openapi.json (commit it)")
    export.add_argument("--check", action="store_true", help="fail if openapi.json has drifted instead")

    event_commands = _group(commands, "events", "events/*.json from template.yaml (development)")
    generate = _command(event_commands, "generate", "write one sample event per route and trigger (commit them)")
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
    from payreq.db import get_engine
    from payreq_cli.demo import seed_demo

    print(seed_demo(get_engine()).describe())
    return 0


def _users(args: argparse.Namespace) -> int:
    from payreq_cli import accounts

    if args.action == "create":
        print(accounts.create_user(args.email, args.name, args.permissions))
    elif args.action == "link":
        print(accounts.link_identity(args.email, args.issuer, args.subject))
    elif args.action == "grant":
        print(accounts.grant(args.email, args.permissions))
    else:
        print(accounts.revoke(args.email, args.permissions))
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from payreq_cli import accounts

    if args.action == "issue":
        about, secret = accounts.issue_token(args.email, args.name, args.scopes, args.days)
        print(about, file=sys.stderr)  # stdout is the secret alone, for `TOKEN=$(payreq tokens issue ...)`
        print(secret)
    else:
        print(accounts.revoke_token(args.token_id))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from payreq_cli.audit import verify_audit_chain

    print(verify_audit_chain(args.anchor_bucket))
    return 0


def _webhooks(args: argparse.Namespace) -> int:
    from payreq_cli import webhooks

    if args.action == "list":
        print(webhooks.list_subscriptions())
    elif args.action in ("enable", "disable"):
        print(webhooks.set_enabled(args.subscription_id, args.action == "enable"))
    elif args.action == "deliveries":
        print(webhooks.deliveries(args.subscription_id, args.status))
    elif args.action == "replay":
        print(webhooks.replay(args.subscription_id, args.delivery_ids))
    else:
        print(webhooks.replay_failed(args.subscription_id))
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
    ("users", "link"): _users,
    ("users", "grant"): _users,
    ("users", "revoke"): _users,
    ("tokens", "issue"): _tokens,
    ("tokens", "revoke"): _tokens,
    ("audit", "verify"): _audit,
    **{
        ("webhooks", action): _webhooks
        for action in ("list", "enable", "disable", "deliveries", "replay", "replay-failed")
    },
    ("openapi", "export"): _openapi,
    ("events", "generate"): _events,
}


if __name__ == "__main__":
    sys.exit(main())
