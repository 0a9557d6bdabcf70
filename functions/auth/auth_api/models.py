"""Request and response bodies of the auth function (camelCase JSON)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from payreq.http.models import ApiModel, RequestModel

Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Permission = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]*\.[a-z][a-z_]*$", max_length=64)]


class User(ApiModel):
    id: uuid.UUID
    email: str
    display_name: str
    is_active: bool
    permissions: list[str]
    version: int
    created_at: datetime


class TestLogin(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    email: Email
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    # Omitted: an existing user keeps their permissions (a new one gets none); a list replaces them.
    permissions: Annotated[list[Permission], Field(max_length=64)] | None = None


class NewApiToken(RequestModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scopes: list[Permission] = Field(min_length=1, max_length=64)
    expires_in_days: int = Field(default=90, ge=1, le=365)


class ApiToken(ApiModel):
    id: uuid.UUID
    name: str
    token_prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedApiToken(ApiToken):
    token: str = Field(description="The secret. Shown once: store it now, it cannot be retrieved again.")


class NewUser(RequestModel):
    email: Email
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    permissions: list[Permission] = Field(default_factory=list, max_length=64)


class UserChanges(RequestModel):
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    is_active: bool | None = None
    permissions: list[Permission] | None = Field(default=None, max_length=64)
