"""The invoice function's own settings (the attachments bucket, upload limits, the parser's options)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AttachmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYREQ_", frozen=True, extra="ignore", env_ignore_empty=True)

    attachments_bucket: str = "payreq-local-attachments"
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    # An upload grant is for one file, now: the form cannot be kept for later (a re-post is refused anyway).
    upload_url_seconds: int = Field(default=300, ge=60, le=300)
    download_url_seconds: int = Field(default=300, ge=30, le=3600)


def attachment_settings() -> AttachmentSettings:
    # Read on each use (cheap): tests and the local stack change the environment between calls.
    return AttachmentSettings()


class ParserSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYREQ_PARSER_", frozen=True, extra="ignore", env_ignore_empty=True)

    # Send scans (no usable text layer) to Amazon Textract AnalyzeExpense. Off: a scan is parse_failed.
    textract: bool = False


def parser_settings() -> ParserSettings:
    return ParserSettings()
