"""Browser sign-in: Google, test-token login, sign-out, and who am I."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from auth_api import sign_in
from auth_api.google_login import PENDING_LOGIN_LIFETIME, GoogleLogin, LoginRejected
from auth_api.models import TestLogin, User
from auth_api.sign_in import IdentityNotLinked
from payreq.auth.jwt import JwksCache
from payreq.auth.sessions import cookie_value
from payreq.auth.users import get_user
from payreq.db import get_engine, read_connection
from payreq.denials import Denial, record_denial_now
from payreq.errors import NotFound
from payreq.http import authorize, request_context
from payreq.http.cookies import (
    SIGN_IN_COOKIE,
    cleared_session_cookie,
    cleared_sign_in_cookie,
    session_cookie,
    sign_in_cookie,
)
from payreq.http.guard import require_same_site, route_key
from payreq.http.responses import json_response, no_content, redirect
from payreq.settings import auth_settings

router = APIGatewayHttpRouter()
# Google's signing keys, kept for the life of the warm container.
GOOGLE_KEYS = JwksCache()


def _google() -> GoogleLogin:
    return GoogleLogin(get_engine(), auth_settings(), jwks=GOOGLE_KEYS)


def _now() -> datetime:
    return datetime.now(UTC)


def _presented_session() -> str | None:
    return cookie_value(router.current_event.cookies, auth_settings().session_cookie)


@router.get(
    "/auth/google/login",
    summary="Start signing in with Google",
    responses={
        302: {
            "description": "To Google's consent page (PKCE, state and nonce in the query), with a short-lived "
            "cookie that binds the sign-in to this browser",
            "content": {},
        }
    },
)
def google_login(next_path: Annotated[str | None, Query(alias="next")] = None) -> Response[str]:
    try:
        pending = _google().begin(next_path, now=_now())
    except LoginRejected as rejected:
        # Escaped: the refused value may hold NUL or line breaks, which are the reason it was refused.
        _record_refused_sign_in(rejected.reason, {"next": _printable(next_path)})
        raise
    binding = sign_in_cookie(pending.browser_binding, max_age_seconds=int(PENDING_LOGIN_LIFETIME.total_seconds()))
    return redirect(pending.location, cookies=[binding])


@router.get(
    "/auth/google/callback",
    summary="Google's redirect back after sign-in",
    responses={
        302: {"description": "Signed in: back to where sign-in started, with the session cookie", "content": {}}
    },
)
def google_callback(code: str | None = None, state: str | None = None, error: str | None = None) -> Response[str]:
    context = request_context(router)
    settings = auth_settings()
    binding = cookie_value(router.current_event.cookies, SIGN_IN_COOKIE)
    try:
        identity = _google().complete(code=code, state=state, error=error, binding=binding, now=_now())
        signed_in = sign_in.sign_in_with_google(
            get_engine(), settings, identity, context, previous_session=_presented_session(), now=_now()
        )
    except (LoginRejected, IdentityNotLinked) as rejected:
        _record_refused_sign_in(rejected.reason, {})
        raise
    location = settings.public_base_url.rstrip("/") + identity.next_path
    return Response(
        HTTPStatus.FOUND,
        headers={"Location": location, "Cache-Control": "no-store"},
        body="",
        cookies=[session_cookie(signed_in.session.secret, settings=settings), cleared_sign_in_cookie()],
    )


def _printable(value: str | None, limit: int = 200) -> str | None:
    return None if value is None else value[:limit].encode("unicode_escape").decode("ascii")


def _record_refused_sign_in(reason: str, details: dict[str, Any]) -> None:
    """A `login_failed` event, counted per source, reason and minute: these routes are public."""
    denial = Denial("login_failed", reason, route_key(router), {"method": "google", "reason": reason, **details})
    record_denial_now(get_engine(), request_context(router), denial)


@router.post("/auth/test-login", summary="Sign in with the test token (non-production stages only)")
def test_login(request: TestLogin) -> Response[dict[str, Any]]:
    settings = auth_settings()
    signed_in = sign_in.test_login(
        get_engine(), settings, request, request_context(router), previous_session=_presented_session(), now=_now()
    )
    user = User.model_validate(dict(signed_in.user))
    return json_response(HTTPStatus.OK, user, cookies=[session_cookie(signed_in.session.secret, settings=settings)])


@router.post(
    "/auth/logout",
    summary="Sign out: revoke the session and clear its cookie",
    responses={HTTPStatus.NO_CONTENT: {"description": "Signed out; the session cookie is cleared"}},
)
def logout() -> Response[str]:
    require_same_site(router)
    settings = auth_settings()
    sign_in.sign_out(get_engine(), request_context(router), _presented_session(), now=_now())
    return no_content(cookies=[cleared_session_cookie(settings=settings)])


@router.get("/api/v1/me", summary="The signed-in user and their permissions", middlewares=[authorize(None)])
def me() -> User:
    context = request_context(router)
    assert context.user_id is not None
    with read_connection(get_engine()) as connection:
        user = get_user(connection, context.user_id)
    if user is None:
        raise NotFound("Your account no longer exists.")
    # The permissions this credential carries (a token's may be fewer than the user holds).
    return User.model_validate({**user, "permissions": sorted(context.permissions)})
