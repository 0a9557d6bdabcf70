"""Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
`<webhook-id>.<webhook-timestamp>.<body>`, base64, prefixed `v1,`; several space-separated while a
rotated secret still signs, so a receiver holding either secret accepts the message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
# 24 bytes, as the reference libraries generate: well over the 128 bits HMAC-SHA256 needs.
SECRET_BYTES = 24


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form (`whsec_<base64>`), which their verifiers take as is."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(signing_secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed with each of `signing_secrets`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, message_id, timestamp, body) for secret in signing_secrets),
    }
