"""Configuration, read from the environment once per container and validated by pydantic.

Each concern has its own settings model so a handler only validates what it uses; the cached
getters are the one place settings are built, and `reset()` lets tests change the environment.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Stage = Literal["local", "test", "dev", "prod"]
# The stages template.yaml deploys (`local` is the local stack, `test` the test suite's).
DEPLOYED_STAGES: frozenset[str] = frozenset({"dev", "prod"})


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYREQ_", frozen=True, extra="ignore", env_ignore_empty=True)

    stage: Stage = "local"
    # SHA-256 (hex) of the secret CloudFront sends as X-Payreq-Edge (payreq/http/viewer.py).
    edge_secret_sha256: str | None = None


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
    # How long one answer may take (a lock wait, a slow statement) before the connection is given up
    # as dead. Longer than the role's statement_timeout, so that the server cancels first and the
    # connection stays usable; within the function's own timeout.
    read_timeout_seconds: float = Field(default=12.0, gt=0)
    region: str | None = Field(default=None, validation_alias="AWS_REGION")


class RoleSettings(BaseSettings):
    """The roles the migration function creates (`payreq.db.roles`): on when the app role's secret is named."""

    model_config = SettingsConfigDict(env_prefix="DB_", frozen=True, extra="ignore", env_ignore_empty=True)

    app_role: str = "payreq_app"
    app_role_secret_arn: str | None = None
    read_role: str = "payreq_read"
    read_role_secret_arn: str | None = None


def _words(value: object) -> object:
    """Lists in the environment are comma or space separated: `pr.read pr.write`, `a.com,b.com`."""
    if isinstance(value, str):
        return [word for word in value.replace(",", " ").split() if word]
    return value


Words = Annotated[list[str], NoDecode, BeforeValidator(_words)]


class AuthSettings(BaseSettings):
    """Sign-in and credentials: sessions, test-token login, Google, bearer JWTs from an OIDC issuer."""

    # An empty variable counts as unset: a template parameter left blank must not enable test login.
    model_config = SettingsConfigDict(env_prefix="AUTH_", frozen=True, extra="ignore", env_ignore_empty=True)

    stage: Stage = Field(default="local", validation_alias="PAYREQ_STAGE")
    session_cookie: str = "__Host-payreq_session"
    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_minutes: int = Field(default=12 * 60, ge=1)
    # How long the authorizer may reuse a verified JWT's signature and claims in a warm container.
    # Sessions and API tokens are looked up on every request (revocation takes effect at once).
    cache_seconds: int = Field(default=30, ge=0)
    # Browser origins whose cookie-authenticated writes are accepted without X-Requested-With. The
    # default is the local demo page's, which a deployed stage refuses (see the validator below): a
    # deployed function without this setting does not start.
    allowed_origins: Words = Field(default_factory=lambda: ["http://localhost:3000"])
    # Where the browser app lives: the OAuth redirect URI and post-login redirects are built on it.
    public_base_url: str = "http://localhost:3000"
    # Test-token login: enabled by setting a token, and refused outright in prod (see below).
    test_login_token: SecretStr | None = None
    # Permissions a user gets on first Google sign-in; admins grant the rest.
    default_permissions: Words = Field(default_factory=list)

    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    # Deployed, the secret stays in Secrets Manager: the environment holds its ARN, and
    # `auth_settings()` reads it once per container (locally and in tests the value itself is set).
    google_client_secret_arn: str | None = None
    google_allowed_domains: Words = Field(default_factory=list)
    google_issuer: str = "https://accounts.google.com"
    google_authorization_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"

    # Bearer JWTs from an external OIDC issuer (Keycloak, Okta, Entra ID, ...): off unless an issuer
    # is set. Its keys come from its discovery document unless `oidc_jwks_url` overrides it.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: Words = Field(default_factory=lambda: ["RS256", "ES256"])
    oidc_scope_claim: str = "scope"

    # Issuers whose first sign-in may link to an existing user by a verified email address (the word
    # `google` names Google's issuer; `none` lists none). An issuer not listed signs in only with an
    # identity an earlier sign-in bound. Google is listed by default: it vouches for `email_verified`
    # only for addresses it controls or has verified, and admin-created accounts are claimed that way.
    email_linking_issuers: Words = Field(default_factory=lambda: ["google"])

    @model_validator(mode="after")
    def _no_test_login_in_prod(self) -> Self:
        if self.stage == "prod" and self.test_login_token is not None:
            raise ValueError("AUTH_TEST_LOGIN_TOKEN must not be set in the prod stage: test-token login is refused")
        return self

    @model_validator(mode="after")
    def _no_loopback_origin_when_deployed(self) -> Self:
        # A forgotten override must fail closed: a deployed stage that trusted localhost would take
        # cookie writes from any page served on the user's own machine.
        loopback = [origin for origin in self.allowed_origins if _is_loopback(origin)]
        if self.stage in DEPLOYED_STAGES and loopback:
            raise ValueError(f"AUTH_ALLOWED_ORIGINS must not list {loopback} in the {self.stage} stage")
        return self

    def links_by_email(self, issuer: str) -> bool:
        named = {self.google_issuer if word == "google" else word for word in self.email_linking_issuers}
        return issuer in named


def _is_loopback(origin: str) -> bool:
    host = (urlsplit(origin).hostname or "").lower()
    return host in {"localhost", "::1", "0.0.0.0"} or host.endswith(".localhost") or host.startswith("127.")


class SyncSettings(BaseSettings):
    """Live sync: where the WebSocket API's @connections endpoint and the broadcaster's queue are."""

    model_config = SettingsConfigDict(env_prefix="PAYREQ_", frozen=True, extra="ignore", env_ignore_empty=True)

    # boto3 `apigatewaymanagementapi` endpoint_url: https://{api}.execute-api.{region}.amazonaws.com/{stage}
    websocket_management_url: str | None = None
    # The queue whose messages run the broadcaster right after a change commits.
    sync_queue_url: str | None = None
    # Concurrent posts to @connections of one broadcaster invocation (its keep-alive connections).
    broadcast_concurrency: int = Field(default=32, ge=1, le=256)
    # Outbox rows claimed (FOR UPDATE SKIP LOCKED) per batch.
    broadcast_batch_size: int = Field(default=100, ge=1, le=1000)
    # Partitions of the WebSocket connections, each delivered by its own broadcaster invocation
    # (the template's SyncPartitions; at most payreq.broadcast_plan.BUCKETS).
    sync_partitions: int = Field(default=1, ge=1, le=64)


@cache
def app_settings() -> AppSettings:
    return AppSettings()


@cache
def database_settings() -> DatabaseSettings:
    return DatabaseSettings()


@cache
def role_settings() -> RoleSettings:
    return RoleSettings()


@cache
def auth_settings() -> AuthSettings:
    settings = AuthSettings()
    if settings.google_client_secret is None and settings.google_client_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(settings.google_client_secret_arn, max_age=0)
        settings = settings.model_copy(update={"google_client_secret": SecretStr(str(value).strip())})
    return settings


@cache
def sync_settings() -> SyncSettings:
    return SyncSettings()


def reset() -> None:
    """Forget cached settings so the next call reads the environment again (tests)."""
    sync_settings.cache_clear()
    role_settings.cache_clear()
    app_settings.cache_clear()
    database_settings.cache_clear()
    auth_settings.cache_clear()
