"""Signing secrets at rest: encrypted with a KMS key the template creates, never stored in clear.

A hash would not do: the sender needs the secret itself to sign. The encryption context binds each
ciphertext to its subscription, so one subscription's ciphertext copied onto another does not decrypt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from payreq.errors import ServiceUnavailable

if TYPE_CHECKING:
    import uuid


class SecretBox:
    def __init__(self, kms: Any, key_id: str | None) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, subscription_id: uuid.UUID, secret: str) -> bytes:
        if not self._key_id:
            raise ServiceUnavailable("Webhook signing secrets cannot be stored: PAYREQ_WEBHOOK_KEY_ID is not set.")
        answer = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=_context(subscription_id)
        )
        return bytes(answer["CiphertextBlob"])

    def open(self, subscription_id: uuid.UUID, ciphertext: bytes) -> str:
        answer = self._kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=_context(subscription_id))
        return bytes(answer["Plaintext"]).decode()


def _context(subscription_id: uuid.UUID) -> dict[str, str]:
    return {"payreq:webhook-subscription": str(subscription_id)}
