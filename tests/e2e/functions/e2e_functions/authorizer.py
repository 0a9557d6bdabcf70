"""HTTP API Lambda authorizer: `Authorization: Bearer allow-<user>` is allowed as <user>; anything else is denied."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = (event.get("identitySource") or [""])[0]
    if token.startswith("Bearer allow-"):
        user = token.removeprefix("Bearer allow-")
        return {"isAuthorized": True, "context": {"userId": user, "permissions": "pr.read", "authMethod": "api_token"}}
    return {"isAuthorized": False}
