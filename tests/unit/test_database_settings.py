"""How settings become a connection: URLs, TLS, and credentials fetched per new connection."""

from __future__ import annotations

import json
import ssl

import boto3
import pytest
from moto import mock_aws
from sqlalchemy.exc import InterfaceError

from payreq.db.engine import build_engine, database_url, password_provider
from payreq.settings import DatabaseSettings


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> DatabaseSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return DatabaseSettings()


def test_a_libpq_socket_url_is_translated_for_pg8000_without_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(monkeypatch, DATABASE_URL="postgresql://postgres@/payreq?host=/tmp/pg%20sock")

    url, connect_args = database_url(settings)

    assert (url.drivername, url.database) == ("postgresql+pg8000", "payreq")
    assert url.query == {"unix_sock": "/tmp/pg sock/.s.PGSQL.5432"}
    # False, not None: None would make pg8000 negotiate TLS without verifying anything.
    assert connect_args["ssl_context"] is False


def test_a_url_asking_for_tls_gets_a_verifying_context(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch, DATABASE_URL="postgresql://app:pw@db.internal:6432/payreq?sslmode=verify-full"
    )

    url, connect_args = database_url(settings)

    context = connect_args["ssl_context"]
    assert (url.host, url.port, "sslmode" in url.query) == ("db.internal", 6432, False)
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_rds_proxy_settings_always_verify_tls_and_build_the_context_once(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(monkeypatch, DB_HOST="payreq.proxy-abc.us-east-1.rds.amazonaws.com", DB_USER="app")

    (url, first), (_, second) = database_url(settings), database_url(settings)

    assert (url.host, url.username, url.database, url.port) == (settings.host, "app", "payreq", 5432)
    assert first["ssl_context"] is second["ssl_context"]
    assert first["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_without_a_url_or_host_the_error_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match=r"DATABASE_URL.*DB_HOST"):
        database_url(DatabaseSettings())


def test_iam_auth_signs_a_fresh_token_for_the_proxy_user(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch, DB_HOST="proxy.example", DB_USER="payreq_app", DB_AUTH="iam", AWS_REGION="eu-west-1"
    )

    token = password_provider(settings)()  # type: ignore[misc]

    assert token.startswith("proxy.example:5432/?Action=connect&DBUser=payreq_app")
    assert "X-Amz-Signature=" in token and "eu-west-1" in token


@mock_aws
def test_secret_auth_reads_the_password_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an RDS-style secret
    arn = boto3.client("secretsmanager").create_secret(
        Name="payreq/db", SecretString=json.dumps({"username": "payreq_app", "password": "s3cret"})
    )["ARN"]
    settings = settings_from(monkeypatch, DB_HOST="proxy.example", DB_AUTH="secret", DB_SECRET_ARN=arn)

    # Then each new connection gets its password from it
    assert password_provider(settings)() == "s3cret"  # type: ignore[misc]


def test_a_local_url_needs_no_credentials_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(monkeypatch, DATABASE_URL="postgresql://postgres@/payreq?host=/tmp")
    assert password_provider(settings) is None


@mock_aws
def test_credentials_that_cannot_be_fetched_fail_like_any_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a secret that does not exist (deleted, or no permission to read it)
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payreq/missing-AbCdEf"
    settings = settings_from(monkeypatch, DB_HOST="127.0.0.1", DB_AUTH="secret", DB_SECRET_ARN=missing)
    engine = build_engine(settings)

    # When a connection is needed, the failure is a driver error: the HTTP layer answers 503, not 500
    with pytest.raises(InterfaceError, match="could not obtain database credentials"):
        engine.connect()
