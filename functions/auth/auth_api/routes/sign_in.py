"""Browser sign-in: Google, test-token login, sign-out, and who am I.

Signing in and out is public and anonymous (no user to key an Idempotency-Key to), so each of those
routes runs its unit of work in a plain `transaction` rather than `change_and_respond`. A refused
sign-in is counted in a transaction of its own (`record_denial_now`), after the refused one has
rolled back.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from auth_api import repository, sign_in
from auth_api.google_login import PENDING_LOGIN_LIFETIME, GoogleLogin, LoginRejected
from auth_api.models import TestLogin, User
from auth_api.sign_in import IdentityNotLinked, SignedIn, WrongTestLoginToken
from payreq.auth.jwt import JwksCache
from payreq.auth.sessions import cookie_value
from payreq.db import get_engine, read_connection, transaction
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
    return GoogleLogin(auth_settings(), jwks=GOOGLE_KEYS)


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
        with transaction(get_engine()) as connection:
            pending = _google().begin(connection, next_path, now=_now())
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
    settings = auth_settings()
    binding = cookie_value(router.current_event.cookies, SIGN_IN_COOKIE)
    try:
        next_path, signed_in = _sign_in_with_google(code, state, error, binding)
    except (LoginRejected, IdentityNotLinked) as rejected:
        _record_refused_sign_in(rejected.reason, {})
        raise
    location = settings.public_base_url.rstrip("/") + next_path
    return Response(
        HTTPStatus.FOUND,
        headers={"Location": location, "Cache-Control": "no-store"},
        body="",
        cookies=[session_cookie(signed_in.session.secret, settings=settings), cleared_sign_in_cookie()],
    )


def _sign_in_with_google(
    code: str | None, state: str | None, error: str | None, binding: str | None
) -> tuple[str, SignedIn]:
    """Where to send the browser, and the session of the user Google's callback signs in."""
    google, engine = _google(), get_engine()
    callback = google.accept(code=code, state=state, error=error, binding=binding)
    # Committed on its own before the code is exchanged, so a replayed callback fails even when
    # this one fails later (Google unreachable, a bad ID token, an unlinked identity).
    with transaction(engine) as connection:
        pending = google.consume(connection, callback, now=_now())
    google_identity = google.identify(callback, pending)
    with transaction(engine) as connection:
        signed_in = sign_in.sign_in_with_google(
            connection,
            auth_settings(),
            google_identity,
            request_context(router),
            previous_session=_presented_session(),
            now=_now(),
        )
    return google_identity.next_path, signed_in


def _printable(value: str | None, limit: int = 200) -> str | None:
    return None if value is None else value[:limit].encode("unicode_escape").decode("ascii")


def _record_refused_sign_in(reason: str, details: dict[str, Any]) -> None:
    """A `login_failed` event, counted per source, reason and minute: these routes are public."""
    denial = Denial("login_failed", reason, route_key(router), {"method": "google", "reason": reason, **details})
    record_denial_now(get_engine(), request_context(router), denial)


@router.post("/auth/test-login", summary="Sign in with the test token (non-production stages only)")
def test_login(request: TestLogin) -> Response[dict[str, Any]]:
    settings, context, now = auth_settings(), request_context(router), _now()
    try:
        with transaction(get_engine()) as connection:
            signed_in = sign_in.test_login(
                connection, settings, request, context, previous_session=_presented_session(), now=now
            )
    except WrongTestLoginToken as wrong:
        record_denial_now(get_engine(), context, wrong.denial, now=now)
        raise
    user = User.model_validate(signed_in.user)
    return json_response(HTTPStatus.OK, user, cookies=[session_cookie(signed_in.session.secret, settings=settings)])


@router.post(
    "/auth/logout",
    summary="Sign out: revoke the session and clear its cookie",
    responses={HTTPStatus.NO_CONTENT: {"description": "Signed out; the session cookie is cleared"}},
)
def logout() -> Response[str]:
    require_same_site(router)
    settings, session = auth_settings(), _presented_session()
    if session:
        with transaction(get_engine()) as connection:
            sign_in.sign_out(connection, request_context(router), session, now=_now())
    return no_content(cookies=[cleared_session_cookie(settings=settings)])


@router.get("/api/v1/me", summary="The signed-in user and their permissions", middlewares=[authorize(None)])
def me() -> User:
    context = request_context(router)
    assert context.user_id is not None
    with read_connection(get_engine()) as connection:
        user = repository.user(connection, context.user_id)
    if user is None:
        raise NotFound("Your account no longer exists.")
    # The permissions this credential carries (a token's may be fewer than the user holds).
    return User.model_validate(dataclasses.replace(user, permissions=sorted(context.permissions)))
