"""User administration: who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from auth_api import user_admin
from auth_api.models import User, UserChanges
from payreq.db import get_engine
from payreq.http import authorize, request_context
from payreq.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from payreq.http.responses import json_response
from payreq.http.versioning import etag, expected_version

router = APIGatewayHttpRouter()
# Changing who may do what: always against the database, never a cached answer.
ADMIN = authorize("users.admin", recheck=True)


@router.get("/api/v1/users", summary="Users, by email", middlewares=[ADMIN])
def list_users(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[User]:
    rows, next_cursor = user_admin.page_of_users(get_engine(), limit=limit, cursor=cursor)
    return Page[User](items=[User.model_validate(dict(row)) for row in rows], next_cursor=next_cursor)


@router.patch("/api/v1/users/<user_id>", summary="Change a user's permissions, name or status", middlewares=[ADMIN])
def change_user(user_id: uuid.UUID, changes: UserChanges) -> Response[dict[str, Any]]:
    user = user_admin.change_user(
        get_engine(), request_context(router), user_id, changes, version=expected_version(router), now=datetime.now(UTC)
    )
    return json_response(200, User.model_validate(dict(user)), headers={"ETag": etag(user["version"])})
