"""Bearer JWTs from an external OIDC issuer (Keycloak, Okta, Entra ID, ...): keys from its discovery
document, identities by (issuer, sub), verified, scoped, refused when wrong."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from payreq import settings
from payreq.db.schema import audit_events, external_identities
from payreq_cli import main as payreq
from support.api_client import ApiClient
from support.fake_oidc import FakeOidcProvider

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine

AUDIENCE = "payreq-api"


@pytest.fixture(scope="module")
def issuer() -> Iterator[FakeOidcProvider]:
    provider = FakeOidcProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def trust_the_issuer(issuer: FakeOidcProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the issuer: its keys are found through its discovery document.
    monkeypatch.setenv("AUTH_OIDC_ISSUER", issuer.issuer)
    monkeypatch.setenv("AUTH_OIDC_AUDIENCE", AUDIENCE)
    # The operator trusts this company IdP's verified addresses to link a first sign-in.
    monkeypatch.setenv("AUTH_EMAIL_LINKING_ISSUERS", f"google {issuer.issuer}")


def token(issuer: FakeOidcProvider, signing: str = "good", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "aud": AUDIENCE,
        "sub": "svc-1",
        "email": "ops@example.com",
        "email_verified": True,
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
}


@pytest.mark.parametrize(("claims", "signing"), BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_jwt_is_refused(
    claims: dict[str, Any], signing: str, issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient]
) -> None:
    signed_in("ops@example.com", ("users.admin",))
    cli = ApiClient(headers={"Authorization": f"Bearer {token(issuer, signing, **claims)}"})

    response = cli.get("/api/v1/users")

    assert (response.status, response.error_code) == (401, "unauthenticated")


def as_cli(jwt: str) -> ApiClient:
    return ApiClient(headers={"Authorization": f"Bearer {jwt}"})


def test_an_unverified_email_never_takes_over_an_account(
    issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given Carol, an admin
    signed_in("carol@example.com", ("users.admin",))

    # When someone's JWT claims her address, in another case, unverified, under a subject of its own
    forged = token(issuer, sub="mallory-1", email="CAROL@example.com", email_verified=False)
    response = as_cli(forged).get("/api/v1/users")

    # Then it is not Carol: 401 unknown_identity, and the refusal is on record
    assert (response.status, response.error_code) == (401, "unknown_identity")
    assert ("bad_token", "unknown_identity") in refusals(engine)
    assert linked_subjects(engine) == []


def test_a_first_sign_in_links_by_email_only_where_the_operator_enabled_it(
    issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Carol, and an operator who trusts only Google's addresses
    signed_in("carol@example.com", ("users.admin",))
    monkeypatch.setenv("AUTH_EMAIL_LINKING_ISSUERS", "google")
    settings.reset()

    # When the company IdP vouches for her verified address under a new subject
    response = as_cli(token(issuer, sub="carol-at-corp", email="carol@example.com")).get("/api/v1/users")

    # Then it is still refused: linking is the operator's call, per issuer
    assert (response.status, response.error_code) == (401, "unknown_identity")


def test_a_linked_identity_is_recognised_by_its_subject_and_its_email_no_longer_matters(
    issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given Carol's first sign-in from the company IdP, with her verified address
    signed_in("carol@example.com", ("users.admin",))
    first = as_cli(token(issuer, sub="carol-at-corp", email="carol@example.com")).get("/api/v1/me")
    assert (first.status, first.body["email"]) == (200, "carol@example.com")
    assert linked_subjects(engine) == [(issuer.issuer, "carol-at-corp", "carol@example.com")]
    assert ("identity_linked", None) in refusals(engine)

    # When her later token carries another address (renamed at the IdP), unverified
    renamed = token(issuer, sub="carol-at-corp", email="c.smith@example.com", email_verified=False)
    later = as_cli(renamed).get("/api/v1/me")
    # And a second subject shows up with her known address, unverified
    second = as_cli(token(issuer, sub="someone-else", email="carol@example.com", email_verified=False))

    # Then the subject decides: she is still Carol; the stranger is nobody here
    assert (later.status, later.body["id"]) == (200, first.body["id"])
    assert (second.get("/api/v1/me").status, second.get("/api/v1/me").error_code) == (401, "unknown_identity")


def test_the_keys_come_from_the_discovery_document_unless_the_jwks_url_is_overridden(
    issuer: FakeOidcProvider, signed_in: Callable[..., ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an issuer configured by its URL alone
    signed_in("ops@example.com", ("users.admin",))
    assert as_cli(token(issuer)).get("/api/v1/users").status == 200
    assert issuer.discovery_requests >= 1

    # When the operator overrides the key set's URL with one that serves no keys
    monkeypatch.setenv("AUTH_OIDC_JWKS_URL", f"{issuer.issuer}/no-keys-here")
    settings.reset()

    # Then the override is what is used
    assert as_cli(token(issuer)).get("/api/v1/users").status == 401


def refusals(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_events.c.action, audit_events.c.after["reason"].astext).where(
                audit_events.c.category == "security"
            )
        )
        return [(row[0], row[1]) for row in rows]


def linked_subjects(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                external_identities.c.issuer, external_identities.c.subject, external_identities.c.linked_email
            ).order_by(external_identities.c.created_at)
        )
        return [(row[0], row[1], row[2]) for row in rows]


def test_an_operator_links_an_identity_of_an_issuer_not_trusted_to_link_by_email(
    issuer: FakeOidcProvider,
    signed_in: Callable[..., ApiClient],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given Carol and Dan, and an operator who lets no issuer link by email
    carol_id = signed_in("carol@example.com", ("users.admin",)).get("/api/v1/me").body["id"]
    signed_in("dan@example.com", ("pr.read",))
    monkeypatch.setenv("AUTH_EMAIL_LINKING_ISSUERS", "none")
    settings.reset()
    jwt = token(issuer, sub="carol-at-corp", email="someone@else.example", email_verified=False)
    assert as_cli(jwt).get("/api/v1/me").status == 401

    # When the operator binds her company identity to her account
    assert payreq(["users", "link", "carol@example.com", issuer.issuer, "carol-at-corp"]) == 0

    # Then that (issuer, sub) is Carol, whatever its email says; and it cannot be moved to Dan
    me = as_cli(jwt).get("/api/v1/me")
    assert (me.status, me.body["id"]) == (200, carol_id)
    assert payreq(["users", "link", "dan@example.com", issuer.issuer, "carol-at-corp"]) == 1
    assert "already belongs to another user" in capsys.readouterr().err
