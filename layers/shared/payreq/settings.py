"""Configuration, read from the environment once per container and validated by pydantic.

Each concern has its own settings model so a handler only validates what it uses; the cached
getters are the one place settings are built, and `reset()` lets tests change the environment.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Stage = Literal["local", "test", "dev", "prod"]


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYREQ_", frozen=True, extra="ignore")

    stage: Stage = "local"


class DatabaseSettings(BaseSettings):
    """Where PostgreSQL is and how to authenticate to it.

    In AWS this is RDS Proxy: `DB_HOST` plus IAM auth tokens or a Secrets Manager secret, always
    over verified TLS. Locally and in tests `DATABASE_URL` points at any PostgreSQL and wins.
    """

    model_config = SettingsConfigDict(env_prefix="DB_", frozen=True, extra="ignore")

    url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    host: str | None = None
    port: int = 5432
    name: str = "payreq"
    user: str = "payreq"
    auth: Literal["iam", "secret", "password"] = "iam"
    secret_arn: str | None = None
    password: SecretStr | None = None
    sslmode: Literal["verify-full", "disable"] = "verify-full"
    ca_bundle: str | None = Field(default=None, description="PEM file; the system trust store when unset")
    # One connection per warm container: Lambda serves one request at a time per container.
    pool_size: int = Field(default=1, ge=1)
    # Refresh connections before RDS Proxy's idle client timeout (30 min by default) closes them.
    pool_recycle_seconds: int = Field(default=1500, ge=1)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    region: str | None = Field(default=None, validation_alias="AWS_REGION")


@cache
def app_settings() -> AppSettings:
    return AppSettings()


@cache
def database_settings() -> DatabaseSettings:
    return DatabaseSettings()


def reset() -> None:
    """Forget cached settings so the next call reads the environment again (tests)."""
    app_settings.cache_clear()
    database_settings.cache_clear()
