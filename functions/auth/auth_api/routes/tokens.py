"""API tokens for CLI and admin clients."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from auth_api import api_tokens
from auth_api.models import ApiToken, IssuedApiToken, NewApiToken
from payreq.db import get_engine, read_connection, transaction
from payreq.http import authorize, request_context
from payreq.http.mutations import change_and_respond
from payreq.http.responses import created, json_response, ok

router = APIGatewayHttpRouter()
# Minting and revoking credentials: always against the database, never a cached answer.
MANAGE = authorize("tokens.manage", recheck=True)


@router.post(
    "/api/v1/tokens",
    summary="Issue an API token (the secret is shown once)",
    responses=created(IssuedApiToken),
    middlewares=[MANAGE],
)
def issue_token(request: NewApiToken) -> Response[dict[str, Any]]:
    # Not through change_and_respond: an Idempotency-Key would store this response, secret and all,
    # and hand the secret out again on a retry; it is shown once.
    with transaction(get_engine()) as connection:
        token, secret = api_tokens.issue(connection, request_context(router), request, now=datetime.now(UTC))
    issued = IssuedApiToken.model_validate({**dataclasses.asdict(token), "token": secret})
    headers = {"Location": f"/api/v1/tokens/{token.id}", "Cache-Control": "no-store"}
    return json_response(HTTPStatus.CREATED, issued, headers=headers)


@router.get("/api/v1/tokens", summary="Your API tokens", middlewares=[MANAGE])
def list_tokens() -> list[ApiToken]:
    with read_connection(get_engine()) as connection:
        tokens = api_tokens.list_mine(connection, request_context(router))
    return [ApiToken.model_validate(token) for token in tokens]


@router.post(
    "/api/v1/tokens/<token_id>/revoke",
    summary="Revoke one of your API tokens",
    responses=ok(ApiToken, "Successful Response"),
    middlewares=[MANAGE],
)
def revoke_token(token_id: uuid.UUID) -> Response[Any]:
    return change_and_respond(
        router,
        lambda connection, context: api_tokens.revoke(connection, context, token_id, now=datetime.now(UTC)),
        lambda _, token: json_response(HTTPStatus.OK, ApiToken.model_validate(token)),
    )
