"""What is measured, and how a process becomes it: Payreq's functions (with either driver, locally
or as deployed), the FastAPI peer (either driver, locally or as deployed) and the psycopg 3 floor.
Shared by the orchestrator and its child processes. Every target's label says its configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
    """A process to measure: its configuration (printed beside its figures), the module whose
    `lambda_handler` it runs, and its environment."""

    label: str
    module: str
    environment: dict[str, str]


@dataclass(frozen=True)
class Deployed:
    """How a deployed container differs from a local one: in Lambda (so tracing is as the template
    ships it), connecting over TCP to the bench's RDS Proxy (`support/session_pooler.py`, on
    `tcp_port`) with an RDS IAM token signed by boto3 (offline, dummy keys; the proxy takes it in a
    password exchange, as RDS Proxy does, and does not check it), `tracing_sdk` as the stack's
    TracingSdk parameter."""

    tcp_port: int
    tracing_sdk: bool = False

    def describe(self) -> str:
        return f"in Lambda, active tracing, X-Ray SDK {'on' if self.tracing_sdk else 'off'}, IAM token over TCP"


def _in_lambda(environment: dict[str, str], deployed: Deployed, function: str) -> None:
    for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "DATABASE_URL"):
        environment.pop(name, None)
    environment.update(
        AWS_LAMBDA_FUNCTION_NAME=f"payreq-bench-{function}",
        AWS_LAMBDA_FUNCTION_VERSION="1",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        LAMBDA_TASK_ROOT=str(_root()),
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="AKIDBENCHMARK",
        AWS_SECRET_ACCESS_KEY="benchmark-secret",
        AWS_SESSION_TOKEN="benchmark-session",
        # What Lambda gives an active-tracing function; the daemon address is UDP, and nothing listens.
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        PAYREQ_TRACING_SDK="true" if deployed.tracing_sdk else "false",
    )


def _root() -> Any:
    from bench.system import ROOT

    return ROOT


def payreq(function: str, database_url: str, driver: Driver = "pg8000", *, deployed: Deployed | None = None) -> Target:
    from bench.system import function_environment

    environment = function_environment(function, database_url)
    if driver == "psycopg":
        environment["DATABASE_URL"] = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    label = f"payreq ({'pg8000' if driver == 'pg8000' else 'psycopg 3'})"
    if deployed is not None:
        url = make_url(database_url)
        _in_lambda(environment, deployed, function)
        environment.update(
            DB_HOST="127.0.0.1",
            DB_PORT=str(deployed.tcp_port),
            DB_NAME=str(url.database),
            DB_USER=str(url.username),
            DB_AUTH="iam",
            DB_SSLMODE="disable",  # the template says verify-full: RDS Proxy's TLS is not emulated
        )
        label = f"payreq ({deployed.describe()})"
    return Target(label, FUNCTIONS[function], environment)


def peer(database_url: str, driver: Driver = "pg8000", *, deployed: Deployed | None = None) -> Target:
    """The lambdalith, with the environment of the PR function plus its own database URL."""
    from bench.system import function_environment

    url = make_url(database_url)
    environment = function_environment("PrFunction", database_url)
    if driver == "pg8000":
        socket = f"{url.query['host']}/.s.PGSQL.{url.port or 5432}"
        peer_url = url.set(drivername="postgresql+pg8000", query={"unix_sock": socket})
    else:
        peer_url = url.set(drivername="postgresql+psycopg")
    label = f"FastAPI + Mangum + ORM ({'pg8000' if driver == 'pg8000' else 'psycopg 3'})"
    if deployed is not None:
        _in_lambda(environment, deployed, "peer")
        peer_url = url.set(drivername=f"postgresql+{driver}", host="127.0.0.1", port=deployed.tcp_port, query={})
        if driver == "psycopg":
            peer_url = peer_url.set(query={"sslmode": "disable"})
        environment["PEER_DB_IAM"] = "1"
        label = f"FastAPI + Mangum + ORM ({driver}, {deployed.describe()})"
    environment["PEER_DATABASE_URL"] = peer_url.render_as_string(hide_password=False)
    return Target(label, PEER, environment)


def floor(database_url: str, driver: Driver = "psycopg", *, prepared: bool = True) -> Target:
    import json

    from bench.system import function_environment

    environment = function_environment("PrFunction", database_url)
    environment["FLOOR_DRIVER"] = driver
    environment["FLOOR_PREPARE"] = "1" if prepared else "0"
    environment["FLOOR_CONNINFO"] = database_url  # a libpq URL (socket directory in ?host=)
    url = make_url(database_url)
    environment["FLOOR_PG8000"] = json.dumps(
        {
            "user": url.username,
            "database": url.database,
            "unix_sock": f"{url.query['host']}/.s.PGSQL.{url.port or 5432}",
        }
    )
    label = "pg8000.native" if driver == "pg8000" else "psycopg 3"
    statements = "prepared statements" if prepared else "unnamed statements in one round trip"
    return Target(f"floor ({label}, {statements}, no framework)", FLOOR, environment)
