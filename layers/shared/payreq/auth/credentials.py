"""Random secrets and their stored fingerprints."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "prq_"


def new_secret() -> str:
    """256 random bits, URL-safe: session ids, OAuth state, nonces."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    # The prefix lets the authorizer (and secret scanners) tell our tokens from JWTs at a glance.
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def fingerprint(secret: str) -> bytes:
    """What the database stores instead of the secret. The secrets have 256 bits of entropy, so a
    plain SHA-256 is enough: there is nothing to brute-force that a slow hash would protect."""
    return hashlib.sha256(secret.encode()).digest()
