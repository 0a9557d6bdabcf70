"""Bearer JWTs from an external OIDC issuer (Keycloak, Cognito, ...): verified, scoped, refused when wrong."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from support.api_client import ApiClient
from support.fake_oidc import FakeOidcProvider

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

AUDIENCE = "payreq-api"


@pytest.fixture(scope="module")
def issuer() -> Iterator[FakeOidcProvider]:
    provider = FakeOidcProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def trust_the_issuer(issuer: FakeOidcProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_OIDC_ISSUER", issuer.issuer)
    monkeypatch.setenv("AUTH_OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("AUTH_OIDC_JWKS_URL", issuer.jwks_url)


def token(issuer: FakeOidcProvider, signing: str = "good", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "aud": AUDIENCE,
        "sub": "svc-1",
        "email": "ops@example.com",
        "scope": "users.admin pr.read",
        "iat": now,
        "exp": now + 300,
        **overrides,
    }
    return issuer.sign({k: v for k, v in claims.items() if v is not None}, signing)


def test_a_valid_jwt_acts_with_its_scopes_limited_to_what_the_user_holds(
    issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient]
) -> None:
    # Given a Payreq user who holds users.admin and tokens.manage (but not pr.read)
    signed_in("ops@example.com", ("users.admin", "tokens.manage"))

    # When a CLI calls with a JWT scoped to users.admin and pr.read
    cli = ApiClient(headers={"Authorization": f"Bearer {token(issuer)}"})

    # Then it acts as that user with the scopes both the token and the user have
    me = cli.get("/api/v1/me")
    assert (me.status, me.body["email"], me.body["permissions"]) == (200, "ops@example.com", ["users.admin"])
    assert cli.get("/api/v1/users").status == 200
    assert cli.get("/api/v1/tokens").status == 403


BAD_TOKENS = {
    "expired": ({"exp": int(time.time()) - 600}, "good"),
    "wrong audience": ({"aud": "someone-else"}, "good"),
    "wrong issuer": ({"iss": "https://evil.example"}, "good"),
    "alg none": ({}, "alg_none"),
    "HS256 with the public key": ({}, "hs256_with_public_key"),
    "injected jwk": ({}, "injected_jwk"),
    "unknown kid": ({}, "unknown_kid"),
    "user not in payreq": ({"email": "stranger@example.com"}, "good"),
}


@pytest.mark.parametrize(("claims", "signing"), BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_jwt_is_refused(
    claims: dict[str, Any], signing: str, issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient]
) -> None:
    signed_in("ops@example.com", ("users.admin",))
    cli = ApiClient(headers={"Authorization": f"Bearer {token(issuer, signing, **claims)}"})

    response = cli.get("/api/v1/users")

    assert (response.status, response.error_code) == (401, "unauthenticated")
