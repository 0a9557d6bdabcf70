"""External identities: who a person is to an identity provider, `(issuer, subject)`, and the user
that identity belongs to here.

An email address is not an identity: an issuer may let anyone type any address (`email_verified`
false), and two issuers may each vouch for the same address. So a known `(issuer, subject)` is
the only way in; an email only *links* a new identity to an existing user, once, and only when the
issuer says the address is verified and the operator trusts that issuer to say so
(`AUTH_EMAIL_LINKING_ISSUERS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from payreq.db.schema import external_identities, users

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Connection

LinkRefusal = Literal["email_unverified", "linking_disabled"]


@dataclass(frozen=True, slots=True)
class ProvenIdentity:
    """What a verified ID token or JWT says about its subject."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool

    @classmethod
    def from_claims(cls, claims: dict[str, object]) -> ProvenIdentity:
        email = claims.get("email")
        return cls(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            # Only the JSON literal `true` counts: "true", 1 and a missing claim do not.
            email_verified=claims.get("email_verified") is True,
        )


class LinkRefused(Exception):
    """A new identity names an existing user's email, but may not take over that user."""

    def __init__(self, reason: LinkRefusal, user_id: uuid.UUID) -> None:
        super().__init__(reason)
        self.reason: LinkRefusal = reason
        self.user_id = user_id


def bound_user(connection: Connection, identity: ProvenIdentity) -> uuid.UUID | None:
    user_id: uuid.UUID | None = connection.scalar(
        select(external_identities.c.user_id).where(
            external_identities.c.issuer == identity.issuer, external_identities.c.subject == identity.subject
        )
    )
    return user_id


def bind(
    connection: Connection, identity: ProvenIdentity, user_id: uuid.UUID, *, linked_email: str | None, now: datetime
) -> None:
    connection.execute(
        insert(external_identities)
        .values(
            issuer=identity.issuer,
            subject=identity.subject,
            user_id=user_id,
            linked_email=linked_email,
            created_at=now,
            last_seen_at=now,
        )
        # Two first sign-ins of one identity at once bind it once, to the same user.
        .on_conflict_do_nothing(index_elements=["issuer", "subject"])
    )


def link_by_email(
    connection: Connection, identity: ProvenIdentity, *, linking_enabled: bool, now: datetime
) -> uuid.UUID | None:
    """Bind a new identity to the user with its email address, if it may: the id of that user, or
    None when no user has the address. LinkRefused when one has, but the address is unverified or
    the operator has not enabled linking for this issuer."""
    if identity.email is None:
        return None
    user_id: uuid.UUID | None = connection.scalar(
        select(users.c.id).where(func.lower(users.c.email) == identity.email.lower())
    )
    if user_id is None:
        return None
    if not identity.email_verified:
        raise LinkRefused("email_unverified", user_id)
    if not linking_enabled:
        raise LinkRefused("linking_disabled", user_id)
    bind(connection, identity, user_id, linked_email=identity.email, now=now)
    return user_id
