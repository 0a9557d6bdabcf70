"""Verifying signed JWTs (Google ID tokens, bearer tokens from an OIDC issuer) against a JWKS.

What is checked, and in which order, is the point of this module:
1. the header's `alg` is on an explicit allow-list (so `none`, and HS256 "signed" with a public
   RSA key, never get as far as signature checking);
2. the key is chosen by `kid` from the issuer's published key set only: keys a token carries in
   its own header (`jwk`, `jku`, `x5u`) are never used;
3. signature, then `iss`, `aud`, `exp` (and `nonce` when one is expected).
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from payreq.outbound import OutboundError, fetch_json

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from joserfc.jwk import Key

CLOCK_SKEW_SECONDS = 60


class TokenRejected(Exception):
    """Why a JWT was refused, as a short stable code (recorded in the security log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class JwksCache:
    """Issuers' key sets, fetched once and kept; refetched when a token names an unknown `kid`
    (keys rotate), but at most once per `refetch_after` seconds so bad tokens cannot make us
    hammer the issuer."""

    fetch: Callable[[str], Any] = fetch_json
    max_age: float = 3600.0
    refetch_after: float = 60.0
    _sets: dict[str, tuple[float, KeySet]] = field(default_factory=dict)

    def key(self, jwks_url: str, kid: str) -> Key:
        fetched_at, keys = self._sets.get(jwks_url, (0.0, KeySet([])))
        age = time.monotonic() - fetched_at
        if age > self.max_age or (not _has_kid(keys, kid) and age > self.refetch_after):
            fetched_at, keys = self._load(jwks_url)
        if not _has_kid(keys, kid):
            raise TokenRejected("unknown_key")
        return keys.get_by_kid(kid)

    def _load(self, jwks_url: str) -> tuple[float, KeySet]:
        try:
            keys = KeySet.import_key_set(self.fetch(jwks_url))
        except (OutboundError, JoseError, KeyError, TypeError) as error:
            raise TokenRejected("jwks_unavailable") from error
        self._sets[jwks_url] = (time.monotonic(), keys)
        return self._sets[jwks_url]


@dataclass
class IssuerDiscovery:
    """Where an issuer publishes its keys, from its discovery document
    (`<issuer>/.well-known/openid-configuration` → `jwks_uri`), so Keycloak, Okta, Entra ID and
    Google work with nothing configured but the issuer. Kept for `max_age` seconds; a failed fetch
    is not kept, but retried at most once per `retry_after` seconds so bad tokens cannot make us
    hammer the issuer."""

    fetch: Callable[[str], Any] = fetch_json
    max_age: float = 24 * 3600.0
    retry_after: float = 30.0
    _found: dict[str, tuple[float, str]] = field(default_factory=dict)
    _failed: dict[str, float] = field(default_factory=dict)

    def jwks_url(self, issuer: str) -> str:
        found = self._found.get(issuer)
        now = time.monotonic()
        if found is not None and now - found[0] < self.max_age:
            return found[1]
        if now - self._failed.get(issuer, -self.retry_after) < self.retry_after:
            raise TokenRejected("discovery_unavailable")
        try:
            document = self.fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
            # The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
            if not isinstance(document, dict) or document.get("issuer") != issuer:
                raise TokenRejected("discovery_mismatch")
            url = document.get("jwks_uri")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise TokenRejected("discovery_mismatch")
        except (OutboundError, TokenRejected) as error:
            self._failed[issuer] = now
            if isinstance(error, TokenRejected):
                raise
            raise TokenRejected("discovery_unavailable") from error
        self._found[issuer] = (now, url)
        return url


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


def unverified_header(token: str) -> dict[str, Any]:
    try:
        encoded = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, IndexError) as error:
        raise TokenRejected("malformed") from error
    if not isinstance(header, dict):
        raise TokenRejected("malformed")
    return header


def verify_jwt(
    token: str,
    *,
    keys: JwksCache,
    jwks_url: str,
    issuers: Collection[str],
    audience: str,
    algorithms: Collection[str],
    nonce: str | None = None,
) -> dict[str, Any]:
    """The token's claims if every check passes; TokenRejected(reason) otherwise."""
    header = unverified_header(token)
    if header.get("alg") not in algorithms:
        raise TokenRejected("algorithm_not_allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("missing_kid")
    key = keys.key(jwks_url, kid)
    try:
        claims = jwt.decode(token, key, algorithms=list(algorithms)).claims
        jwt.JWTClaimsRegistry(
            leeway=CLOCK_SKEW_SECONDS,
            iss={"essential": True, "values": list(issuers)},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(claims)
    except BadSignatureError as error:
        raise TokenRejected("bad_signature") from error
    except ExpiredTokenError as error:
        raise TokenRejected("expired") from error
    except ClaimError as error:
        raise TokenRejected(f"invalid_{error.claim}") from error
    except JoseError as error:
        raise TokenRejected("malformed") from error
    if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise TokenRejected("invalid_nonce")
    return dict(claims)
