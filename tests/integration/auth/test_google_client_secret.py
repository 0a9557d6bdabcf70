"""Deployed, the Google client secret lives in Secrets Manager: the function's environment holds its
ARN only, and the secret is read once per container."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from moto import mock_aws

from payreq import settings

if TYPE_CHECKING:
    import pytest


def test_the_client_secret_is_read_from_secrets_manager_once_per_container(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        # Given the secret in Secrets Manager and only its ARN in the environment (as template.yaml sets it)
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="payreq/dev/google-client-secret", SecretString="GOCSPX-first\n")["ARN"]
        monkeypatch.delenv("AUTH_GOOGLE_CLIENT_SECRET", raising=False)
        monkeypatch.setenv("AUTH_GOOGLE_CLIENT_ID", "1234.apps.googleusercontent.com")
        monkeypatch.setenv("AUTH_GOOGLE_CLIENT_SECRET_ARN", arn)
        settings.reset()

        # When the container reads its settings, and again after the secret was changed
        first = settings.auth_settings().google_client_secret
        secrets.put_secret_value(SecretId=arn, SecretString="GOCSPX-second")
        again = settings.auth_settings().google_client_secret

    # Then it holds the secret (trimmed), read once: a new value reaches new containers (a deploy)
    assert first is not None and first.get_secret_value() == "GOCSPX-first"
    assert again is first
    # And the secret never shows in the settings' representation (logs)
    assert "GOCSPX" not in repr(settings.auth_settings())
