"""The outcome of checking a credential: a principal, or the reason there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import uuid

    from payreq.context import AuthMethod

FailureReason = Literal[
    "unknown_session",
    "expired_session",
    "revoked_session",
    "unknown_token",
    "expired_token",
    "revoked_token",
    "invalid_token",
    "inactive_user",
    "unknown_user",
    "unknown_identity",
]

# The authorizer could not check the credential (the database was unreachable): 503, not 401.
UNAVAILABLE = "auth_unavailable"

FAILURE_MESSAGES: dict[str, str] = {
    "unknown_session": "Your session is not valid; sign in again.",
    "expired_session": "Your session has expired; sign in again.",
    "revoked_session": "You have signed out; sign in again.",
    "unknown_token": "The bearer token is not valid.",
    "expired_token": "The bearer token has expired.",
    "revoked_token": "The bearer token has been revoked.",
    "invalid_token": "The bearer token could not be verified.",
    "inactive_user": "This account is disabled.",
    "unknown_user": "The bearer token's subject is not a Payreq user.",
    "unknown_identity": "This identity is not linked to a Payreq user; ask an administrator.",
}


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    permissions: frozenset[str]
    method: AuthMethod
    credential_id: str

    def authorizer_context(self) -> dict[str, str]:
        """What the authorizer hands the functions (API Gateway allows flat string values only)."""
        return {
            "userId": str(self.user_id),
            "permissions": " ".join(sorted(self.permissions)),
            "authMethod": self.method,
            "credentialId": self.credential_id,
        }


@dataclass(frozen=True, slots=True)
class AuthFailure:
    reason: FailureReason

    @property
    def message(self) -> str:
        return FAILURE_MESSAGES[self.reason]
