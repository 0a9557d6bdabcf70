"""Who is acting and on whose request: carried from the edge (authorizer, WebSocket, S3) into flows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from uuid import UUID

AuthMethod = Literal["session", "api_token", "jwt", "system"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    user_id: UUID | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    auth_method: AuthMethod | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    # Why a presented credential was not accepted (expired session, revoked token, ...), if it wasn't.
    auth_error: str | None = None
    # Which session, API token or JWT (`jti`/`sub`) admitted the request.
    credential_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def can(self, permission: str) -> bool:
        return permission in self.permissions
