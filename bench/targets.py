"""What is measured, and how a process becomes it: Payreq's functions (with either driver), the
FastAPI peer and the raw-driver floor. Shared by the orchestrator and its child processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import make_url

Driver = Literal["pg8000", "psycopg"]

# Logical id in template.yaml -> the handler module.
FUNCTIONS = {
    "PrFunction": "pr_api.handler",
    "InvoiceFunction": "invoice_api.handler",
    "PaymentFunction": "payment_api.handler",
    "AuthFunction": "auth_api.handler",
    "AuthorizerFunction": "auth_api.authorizer",
    "AuditFunction": "audit_api.handler",
    "SyncFunction": "sync_api.handler",
    "BroadcasterFunction": "sync_api.broadcaster",
}
PEER, FLOOR = "bench.peers.lambdalith", "bench.peers.floor"


@dataclass(frozen=True)
class Target:
    label: str
    module: str
    environment: dict[str, str]


def payreq(function: str, database_url: str, driver: Driver = "pg8000") -> Target:
    from bench.system import function_environment

    environment = function_environment(function, database_url)
    if driver == "psycopg":
        environment["DATABASE_URL"] = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    label = "payreq" if driver == "pg8000" else "payreq (psycopg 3)"
    return Target(label, FUNCTIONS[function], environment)


def peer(database_url: str) -> Target:
    """The lambdalith, with the environment of the PR function plus its own database URL."""
    from bench.system import function_environment
    from payreq.db.engine import database_url as payreq_url
    from payreq.settings import DatabaseSettings

    url, _ = payreq_url(DatabaseSettings(DATABASE_URL=database_url))
    environment = function_environment("PrFunction", database_url)
    environment["PEER_DATABASE_URL"] = url.render_as_string(hide_password=False)
    return Target("FastAPI + Mangum + ORM", PEER, environment)


def floor(database_url: str) -> Target:
    from bench.system import function_environment

    url = make_url(database_url)
    environment = function_environment("PrFunction", database_url)
    environment.update(
        FLOOR_DB_USER=str(url.username),
        FLOOR_DB_NAME=str(url.database),
        FLOOR_DB_SOCKET=f"{url.query['host']}/.s.PGSQL.{url.port or 5432}",
    )
    return Target("raw pg8000 (floor)", FLOOR, environment)
