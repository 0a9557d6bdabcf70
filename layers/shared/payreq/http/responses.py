"""Responses that need more than a returned model: a status other than 200, headers, cookies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from aws_lambda_powertools.shared.cookies import Cookie
    from pydantic import BaseModel


def ok(model: type[BaseModel], description: str = "OK") -> dict[int, OpenAPIResponse]:
    """`responses=` of a route answering 200 with headers (an ETag): the body's schema, which
    Powertools cannot read from a `Response` return type."""
    return {200: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def created(model: type[BaseModel], description: str = "Created") -> dict[int, OpenAPIResponse]:
    """`responses=` of a route answering 201 (Powertools documents a route's 200 otherwise)."""
    return {201: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def json_response(
    status: int,
    model: BaseModel,
    *,
    headers: dict[str, str] | None = None,
    cookies: list[Cookie] | None = None,
) -> Response[dict[str, Any]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json", by_alias=True),
        headers=headers,
        cookies=cookies,
    )


def redirect(location: str, *, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(302, headers={"Location": location, "Cache-Control": "no-store"}, body="", cookies=cookies)


def no_content(*, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(204, body="", cookies=cookies)
