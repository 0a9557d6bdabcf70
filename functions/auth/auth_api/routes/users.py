"""User administration: who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from auth_api import user_admin
from auth_api.models import User, UserChanges
from payreq.db import get_engine, read_connection
from payreq.http import authorize
from payreq.http.mutations import change_and_respond
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
    with read_connection(get_engine()) as connection:
        users, next_cursor = user_admin.page_of_users(connection, limit=limit, cursor=cursor)
    return Page[User](items=[User.model_validate(user) for user in users], next_cursor=next_cursor)


@router.patch("/api/v1/users/<user_id>", summary="Change a user's permissions, name or status", middlewares=[ADMIN])
def change_user(user_id: uuid.UUID, changes: UserChanges) -> Response[dict[str, Any]]:
    version = expected_version(router)
    return change_and_respond(
        router,
        lambda connection, context: user_admin.change_user(
            connection, context, user_id, changes, version=version, now=datetime.now(UTC)
        ),
        lambda _, user: json_response(HTTPStatus.OK, User.model_validate(user), headers={"ETag": etag(user.version)}),
    )
