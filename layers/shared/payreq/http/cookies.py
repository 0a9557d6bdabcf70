"""The session cookie and the sign-in binding cookie, as browsers must receive them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

if TYPE_CHECKING:
    from payreq.settings import AuthSettings


def session_cookie(secret: str, *, settings: AuthSettings) -> Cookie:
    # __Host-: Secure, Path=/ and no Domain, so no other subdomain can set or read it. Lax keeps it
    # on top-level navigations (the OAuth redirect back) but off cross-site subrequests.
    return Cookie(
        name=settings.session_cookie,
        value=secret,
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=settings.session_absolute_minutes * 60,
    )


def cleared_session_cookie(*, settings: AuthSettings) -> Cookie:
    return Cookie(
        name=settings.session_cookie,
        value="",
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=0,
    )


# Holds a hash of a pending Google sign-in's state; the callback must come back with it.
SIGN_IN_COOKIE = "__Host-payreq_sign_in"


def sign_in_cookie(binding: str, *, max_age_seconds: int) -> Cookie:
    # Lax: the callback is a top-level navigation back from Google, which Lax cookies accompany.
    return Cookie(
        name=SIGN_IN_COOKIE,
        value=binding,
        path="/",
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age_seconds,
    )


def cleared_sign_in_cookie() -> Cookie:
    return Cookie(
        name=SIGN_IN_COOKIE, value="", path="/", secure=True, http_only=True, same_site=SameSite.LAX_MODE, max_age=0
    )
