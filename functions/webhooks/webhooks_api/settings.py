"""The webhooks function's own settings (`PAYREQ_WEBHOOK_*`)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from payreq.settings import DEPLOYED_STAGES, Stage


def _list(value: object) -> object:
    if isinstance(value, str):
        return [word for word in value.replace(",", " ").split() if word]
    return value


# The Standard Webhooks retry schedule (as Svix runs it): after the first attempt, 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h: about 27 hours before a delivery is given up.
DEFAULT_RETRIES = (5, 300, 1800, 7200, 18000, 36000, 36000)


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYREQ_WEBHOOK_", frozen=True, extra="ignore", env_ignore_empty=True)

    stage: Stage = Field(default="local", validation_alias="PAYREQ_STAGE")
    # The KMS key (id, ARN or alias) that encrypts the signing secrets.
    key_id: str | None = None
    # The deliverer's queue: a message runs a pass now, or (with a delay) when a retry is due.
    queue_url: str | None = None
    # Seconds to wait before each retry; a delivery is given up after the last.
    retry_seconds: Annotated[list[int], NoDecode, BeforeValidator(_list)] = Field(
        default_factory=lambda: list(DEFAULT_RETRIES)
    )
    # Deliveries given up one after the other before the subscription is disabled.
    disable_after: int = Field(default=5, ge=1)
    # How long the previous secret keeps signing after a rotation.
    rotation_overlap_seconds: int = Field(default=24 * 3600, ge=0)
    timeout_seconds: float = Field(default=5.0, gt=0, le=15)
    max_response_bytes: int = Field(default=64 * 1024, ge=1)
    # Networks a receiver may be on although they are private (the local stack's receivers on
    # loopback); refused in deployed stages, where only public addresses are ever called.
    local_receivers: Annotated[
        list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode, BeforeValidator(_list)
    ] = Field(default_factory=list)
    # Subscriptions and deliveries a pass handles at most (the next trigger or sweep goes on).
    batch_size: int = Field(default=25, ge=1)

    @model_validator(mode="after")
    def _no_private_receivers_when_deployed(self) -> Self:
        if self.local_receivers and self.stage in DEPLOYED_STAGES:
            raise ValueError("PAYREQ_WEBHOOK_LOCAL_RECEIVERS is for the local stack and tests only")
        return self

    @property
    def plain_http_allowed(self) -> bool:
        """Receivers must be https, except on the local stack (and in tests, which stand in for it)."""
        return self.stage in {"local", "test"}


def webhook_settings() -> WebhookSettings:
    # Read on each use (cheap): tests and the local stack change the environment between calls.
    return WebhookSettings()
