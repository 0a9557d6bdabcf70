"""The migrations build the schema the code declares, and undo it cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text

from payreq import custom_resource
from payreq.db import migrate, migration_function
from payreq.db.engine import engine_from_url
from payreq_cli import main as payreq_cli
from support.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.database import DatabaseFactory

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_TABLES = {
    "users",
    "user_permissions",
    "sessions",
    "external_identities",
    "denial_windows",
    "api_tokens",
    "document_counters",
    "payment_requests",
    "approval_steps",
    "approvals",
    "invoices",
    "invoice_lines",
    "invoice_attachments",
    "pr_invoice_links",
    "payment_methods",
    "payments",
    "audit_events",
    "outbox",
    "outbox_deliveries",
    "ws_connections",
    "ws_tickets",
    "sync_topics",
    "idempotency_keys",
    "oauth_logins",
    "approval_flow_templates",
    "webhook_subscriptions",
    "webhook_deliveries",
    "webhook_outbox_scans",
    "webhook_watermark",
    "approval_delegations",
}


@pytest.fixture
def empty_database(database_server: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = database_server.create(from_template=False)
    url = database_server.url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    database_server.drop(name)


def tables(url: str) -> set[str]:
    engine = engine_from_url(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def alembic_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_alembic_upgrade_downgrade_upgrade_on_a_fresh_database(empty_database: str) -> None:
    # When the schema is built, torn down and built again with the alembic command line
    first = alembic_cli("upgrade", "head")
    built = tables(empty_database)
    down = alembic_cli("downgrade", "base")
    emptied = tables(empty_database)
    again = alembic_cli("upgrade", "head")

    # Then every step succeeded and the whole schema is back
    assert [first.returncode, down.returncode, again.returncode] == [0, 0, 0], first.stderr + down.stderr
    assert built == EXPECTED_TABLES
    assert emptied == set()
    assert tables(empty_database) == EXPECTED_TABLES


def test_payreq_db_upgrade_builds_the_schema(empty_database: str) -> None:
    assert payreq_cli(["db", "upgrade"]) == 0
    assert tables(empty_database) == EXPECTED_TABLES


def test_payreq_cli_reports_a_bad_revision_in_one_line(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert payreq_cli(["db", "downgrade", "no-such-revision"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("payreq: error:") and "\n" not in error


def test_the_migrations_match_the_declared_schema(database_url: str) -> None:
    # `alembic check` fails when schema.py declares something no migration creates (or the reverse).
    engine = engine_from_url(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            try:
                command.check(migrate.alembic_config(connection))
            except CommandError as drift:
                pytest.fail(f"schema.py and the migrations disagree: {drift}")
    finally:
        engine.dispose()


def test_payreq_db_current_names_the_revision(empty_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert payreq_cli(["db", "upgrade"]) == 0
    capsys.readouterr()

    assert payreq_cli(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head_revision()} (head)"


# --------------------------------------------------------------- the migration function (deploys)


def head_revision() -> str:
    head = migrate.head_revision()
    assert head is not None
    return head


class CloudFormation:
    """Where a custom resource's answer goes: CloudFormation's pre-signed S3 URL, played on loopback."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        answers: list[dict[str, Any]] = []
        self.answers = answers

        class Bucket(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Bucket)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event(self, request_type: str) -> dict[str, object]:
        port = self.server.server_address[1]
        return {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:payreq-dev-MigrationFunction",
            "ResponseURL": f"http://127.0.0.1:{port}/cloudformation-custom-resource-response?X-Amz-Signature=x",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/payreq-dev/5b0d7c2e",
            "RequestId": "8c3f0a4e-1d2b-4c5a-9e6f-7a8b9c0d1e2f",
            "LogicalResourceId": "DatabaseMigration",
            "ResourceType": "Custom::DatabaseMigration",
            "ResourceProperties": {"SharedLayerVersion": "arn:aws:lambda:us-east-1:123456789012:layer:shared:7"},
            **({"PhysicalResourceId": "payreq-database-schema"} if request_type != "Create" else {}),
        }


@pytest.fixture
def cloudformation() -> Iterator[CloudFormation]:
    receiver = CloudFormation()
    yield receiver
    receiver.server.shutdown()


def test_a_deploy_migrates_an_empty_database_and_tells_cloudformation(
    empty_database: str, cloudformation: CloudFormation, lambda_context: FakeLambdaContext
) -> None:
    result = migration_function.lambda_handler(cloudformation.event("Create"), lambda_context)

    assert tables(empty_database) == EXPECTED_TABLES
    assert [(answer["Status"], answer["Data"]) for answer in cloudformation.answers] == [
        ("SUCCESS", {"Revision": head_revision()})
    ]
    assert result["status"] == "SUCCESS"
    assert cloudformation.answers[0]["PhysicalResourceId"] == "payreq-database-schema"


def test_deleting_the_stack_leaves_the_schema(
    empty_database: str, cloudformation: CloudFormation, lambda_context: FakeLambdaContext
) -> None:
    migration_function.lambda_handler(cloudformation.event("Create"), lambda_context)

    migration_function.lambda_handler(cloudformation.event("Delete"), lambda_context)

    assert [answer["Status"] for answer in cloudformation.answers] == ["SUCCESS", "SUCCESS"]
    assert tables(empty_database) == EXPECTED_TABLES


def test_a_failed_migration_fails_the_deploy_with_one_line(
    database_server: DatabaseFactory,
    monkeypatch: pytest.MonkeyPatch,
    cloudformation: CloudFormation,
    lambda_context: FakeLambdaContext,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_server.url("no_such_database"))

    result = migration_function.lambda_handler(cloudformation.event("Update"), lambda_context)

    (answer,) = cloudformation.answers
    assert (result["status"], answer["Status"]) == ("FAILED", "FAILED")
    assert answer["Reason"].startswith("migration failed: ") and len(answer["Reason"]) > len("migration failed: ")
    assert "\n" not in answer["Reason"]


def test_invoked_by_hand_it_migrates_and_returns_the_revision(
    empty_database: str, lambda_context: FakeLambdaContext
) -> None:
    assert migration_function.lambda_handler({}, lambda_context) == {"revision": head_revision()}


def test_a_rollback_to_older_code_succeeds_when_the_database_is_ahead(
    empty_database: str, cloudformation: CloudFormation, lambda_context: FakeLambdaContext
) -> None:
    # Given a database a newer deploy migrated past everything this code knows
    migration_function.lambda_handler(cloudformation.event("Create"), lambda_context)
    engine = engine_from_url(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_newer_deploy'"))

        # When that deploy fails and CloudFormation sends the rollback's Update to this (older) code
        result = migration_function.lambda_handler(cloudformation.event("Update"), lambda_context)

        # Then the rollback goes through: SUCCESS, the revision left as it is, nothing downgraded
        assert (cloudformation.answers[-1]["Status"], cloudformation.answers[-1]["Data"]) == (
            "SUCCESS",
            {"Revision": "0099_from_a_newer_deploy"},
        )
        assert result["status"] == "SUCCESS"
        assert migrate.current_revision(engine) == "0099_from_a_newer_deploy"
        assert tables(empty_database) == EXPECTED_TABLES
    finally:
        engine.dispose()


def test_a_migration_still_running_near_the_deadline_is_answered_failed_in_time(
    empty_database: str, cloudformation: CloudFormation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a migration that would outlast the function (a lock it waits for, a huge table)
    release = threading.Event()
    abandoned: list[bool] = []

    def stuck(engine: object) -> migration_function.Migrated:
        release.wait(30)
        return migration_function.Migrated("never")

    monkeypatch.setattr(migration_function, "migrate_database", stuck)
    monkeypatch.setattr(custom_resource, "end_the_process", lambda: abandoned.append(True))
    context = FakeLambdaContext("payreq-dev-MigrationFunction", time_limit_ms=3_000)

    # When CloudFormation asks for the Update
    started = time.monotonic()
    try:
        result = migration_function.lambda_handler(cloudformation.event("Update"), context)
        answered_after = time.monotonic() - started
    finally:
        release.set()

    # Then CloudFormation hears FAILED before Lambda's deadline (not an hour later), once, and the
    # overrunning work is abandoned so that it can never commit afterwards
    (answer,) = cloudformation.answers
    assert (result["status"], answer["Status"]) == ("FAILED", "FAILED")
    assert answer["Reason"].startswith("did not finish within")
    assert answered_after < 3.0
    assert abandoned == [True]
    assert answer["PhysicalResourceId"] == "payreq-database-schema"
