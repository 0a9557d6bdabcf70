"""The payment-request function's own settings."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

InlineFlows = Literal["managers", "anyone"]


class PaymentRequestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYREQ_", frozen=True, extra="ignore", env_ignore_empty=True)

    # Who may give a request an approval flow of its own rather than a template's. With `anyone`, a
    # requester chooses who approves their payment; by default only holders of `flows.manage` do.
    inline_flows: InlineFlows = "managers"


def pr_settings() -> PaymentRequestSettings:
    # Read on each use (cheap): tests and the local stack change the environment between calls.
    return PaymentRequestSettings()
