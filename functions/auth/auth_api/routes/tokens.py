"""API tokens for CLI and admin clients."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from auth_api import api_tokens
from auth_api.models import ApiToken, IssuedApiToken, NewApiToken
from payreq.db import get_engine
from payreq.http import authorize, request_context
from payreq.http.responses import created, json_response

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
    token, secret = api_tokens.issue(get_engine(), request_context(router), request, now=datetime.now(UTC))
    issued = IssuedApiToken.model_validate({**token, "token": secret})
    headers = {"Location": f"/api/v1/tokens/{token['id']}", "Cache-Control": "no-store"}
    return json_response(HTTPStatus.CREATED, issued, headers=headers)


@router.get("/api/v1/tokens", summary="Your API tokens", middlewares=[MANAGE])
def list_tokens() -> list[ApiToken]:
    return [ApiToken.model_validate(dict(row)) for row in api_tokens.list_mine(get_engine(), request_context(router))]


@router.post("/api/v1/tokens/<token_id>/revoke", summary="Revoke one of your API tokens", middlewares=[MANAGE])
def revoke_token(token_id: uuid.UUID) -> ApiToken:
    token = api_tokens.revoke(get_engine(), request_context(router), token_id, now=datetime.now(UTC))
    return ApiToken.model_validate(dict(token))
