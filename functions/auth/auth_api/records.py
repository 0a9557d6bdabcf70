"""The rows the auth function reads, as typed records (`payreq.db.records.record_of`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from payreq.db.records import record

if TYPE_CHECKING:
    import uuid
    from datetime import datetime


@record
class UserRecord:
    """A user with the permissions they hold, sorted."""

    id: uuid.UUID
    version: int
    created_at: datetime
    email: str
    display_name: str
    is_active: bool
    permissions: list[str]


class UserUpdate(TypedDict, total=False):
    """The columns of a user a change may set; the ones left out keep their value."""

    display_name: str | None
    is_active: bool | None


@record
class ApiTokenRecord:
    """An API token as its owner may see it: never its hash."""

    id: uuid.UUID
    token_prefix: str
    name: str
    scopes: list[str]
    # Made, last used, and when it stops working.
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


@record
class NewPendingLogin:
    """A sign-in sent to Google and not yet back: what the callback needs, found by its state's hash."""

    state_hash: bytes
    nonce: str
    code_verifier: str
    next_path: str
    created_at: datetime
    expires_at: datetime


@record
class PendingLogin:
    """A pending sign-in as its callback consumes it."""

    nonce: str
    code_verifier: str
    next_path: str
