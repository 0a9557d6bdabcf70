"""The audit function's own settings (the shared ones live in payreq.settings)."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class AnchorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", frozen=True, extra="ignore")

    # Where chain-head anchors are written (template.yaml: AuditAnchorBucket, with Object Lock), and
    # what the verification compares the chain with. Unset, the chain's tail goes unchecked.
    anchor_bucket: str | None = None


@cache
def anchor_settings() -> AnchorSettings:
    return AnchorSettings()
