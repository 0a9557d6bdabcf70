"""Sign-in settings that fail closed: loopback origins in a deployed stage, email linking per issuer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from payreq.settings import AuthSettings


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize(
    "origins", ["http://localhost:3000", "https://app.example.com,http://127.0.0.1:8080", "http://[::1]:3000"]
)
def test_a_deployed_stage_refuses_to_start_with_a_loopback_origin(
    stage: str, origins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYREQ_STAGE", stage)
    monkeypatch.setenv("AUTH_ALLOWED_ORIGINS", origins)

    with pytest.raises(ValidationError, match="must not list"):
        AuthSettings()


def test_a_deployed_stage_that_forgot_its_origins_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYREQ_STAGE", "prod")
    monkeypatch.delenv("AUTH_ALLOWED_ORIGINS", raising=False)

    with pytest.raises(ValidationError, match="localhost"):
        AuthSettings()


def test_the_local_stack_keeps_its_own_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYREQ_STAGE", "local")
    monkeypatch.delenv("AUTH_ALLOWED_ORIGINS", raising=False)

    assert AuthSettings().allowed_origins == ["http://localhost:3000"]


@pytest.mark.parametrize(
    ("listed", "issuer", "links"),
    [
        ("", "https://accounts.google.com", True),  # unset: Google only
        ("", "https://idp.example.com", False),
        ("google https://idp.example.com", "https://idp.example.com", True),
        ("none", "https://accounts.google.com", False),
    ],
)
def test_linking_by_email_is_enabled_per_issuer(
    listed: str, issuer: str, links: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_EMAIL_LINKING_ISSUERS", listed)

    assert AuthSettings().links_by_email(issuer) is links
