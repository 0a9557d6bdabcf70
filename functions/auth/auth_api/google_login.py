"""Sign-in with Google (OpenID Connect, authorization code flow with PKCE).

`begin` stores the pending sign-in server-side and sends the browser to Google, leaving a
short-lived cookie with a hash of the state in that browser. The callback takes three steps:
`accept` refuses a callback the browser did not start (login CSRF: an attacker's own consent, sent
to a victim, would sign the victim into the attacker's account), `consume` marks the pending sign-in
used (the caller commits that before anything else, so a replayed callback always fails), and
`identify` exchanges the code, verifies the ID token, and yields the Google identity.
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from auth_api import repository
from auth_api.records import NewPendingLogin
from payreq.auth.credentials import fingerprint, new_secret
from payreq.auth.identities import ProvenIdentity
from payreq.auth.jwt import JwksCache, TokenRejected, verify_jwt
from payreq.errors import BadRequest, ServiceUnavailable, detail
from payreq.outbound import OutboundError, fetch_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection

    from auth_api.records import PendingLogin
    from payreq.settings import AuthSettings

PENDING_LOGIN_LIFETIME = timedelta(minutes=10)
CALLBACK_PATH = "/auth/google/callback"


class LoginRejected(BadRequest):
    """A sign-in that must not complete; `reason` is recorded in the security log."""

    code = "login_failed"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, details=[detail(None, message, reason)])
        self.reason = reason


@dataclass(frozen=True)
class GoogleIdentity:
    identity: ProvenIdentity
    name: str
    next_path: str


@dataclass(frozen=True, slots=True)
class Callback:
    """Google's redirect back, once it is known to come to the browser that started the sign-in."""

    code: str
    state: str


@dataclass(frozen=True)
class PendingSignIn:
    """Where to send the browser, and the value of the cookie that binds the callback to it."""

    location: str
    browser_binding: str


def browser_binding(state: str) -> str:
    """The cookie's value: a hash of the state, so the cookie alone cannot complete a sign-in."""
    return fingerprint(state).hex()


def safe_next_path(next_path: str | None) -> str:
    """Only a path on this site: `//evil.example`, `https://...` and `/\\evil` are open redirects;
    any control or non-printable character (CR/LF would split the Location header) is refused."""
    path = next_path or "/"
    if not path.isprintable():
        raise LoginRejected("unsafe_next", "`next` must be a plain path on this site, such as /prs.")
    parts = urlsplit(path)
    if not path.startswith("/") or path.startswith("//") or "\\" in path or parts.scheme or parts.netloc:
        raise LoginRejected("open_redirect", "`next` must be a path on this site, such as /prs.")
    return path


@dataclass
class GoogleLogin:
    settings: AuthSettings
    jwks: JwksCache = field(default_factory=JwksCache)
    fetch: Callable[..., Any] = fetch_json

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_base_url.rstrip("/") + CALLBACK_PATH

    def begin(self, connection: Connection, next_path: str | None, *, now: datetime) -> PendingSignIn:
        """Record a pending sign-in: the Google URL to send the browser to, and its binding cookie."""
        from authlib.common.urls import add_params_to_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        settings = self.settings
        if not settings.google_client_id:
            raise LoginRejected("not_configured", "Google sign-in is not configured here.")
        path = safe_next_path(next_path)
        state, nonce, verifier = new_secret(), new_secret(), new_secret()
        repository.add_pending_login(
            connection,
            NewPendingLogin(
                state_hash=fingerprint(state),
                nonce=nonce,
                code_verifier=verifier,
                next_path=path,
                created_at=now,
                expires_at=now + PENDING_LOGIN_LIFETIME,
            ),
        )
        params = {
            "response_type": "code",
            "client_id": settings.google_client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
        if len(settings.google_allowed_domains) == 1:
            params["hd"] = settings.google_allowed_domains[0]  # a hint for Google's account chooser only
        return PendingSignIn(str(add_params_to_uri(settings.google_authorization_url, params)), browser_binding(state))

    def accept(self, *, code: str | None, state: str | None, error: str | None, binding: str | None) -> Callback:
        """`binding` is the browser's sign-in cookie: the callback must come back to the browser
        that started it."""
        if error:
            raise LoginRejected("provider_error", f"Google did not sign you in ({error}).")
        if not code or not state:
            raise LoginRejected("missing_state", "The sign-in response is incomplete; start again.")
        if not binding or not hmac.compare_digest(binding, browser_binding(state)):
            raise LoginRejected(
                "browser_mismatch", "This sign-in was not started in this browser; start again from the sign-in page."
            )
        return Callback(code, state)

    def consume(self, connection: Connection, callback: Callback, *, now: datetime) -> PendingLogin:
        pending = repository.consume_pending_login(connection, fingerprint(callback.state), now=now)
        if pending is None:
            raise LoginRejected("bad_state", "This sign-in link is unknown, expired or already used; start again.")
        return pending

    def identify(self, callback: Callback, pending: PendingLogin) -> GoogleIdentity:
        """The Google identity the callback's code stands for, with the nonce the sign-in began with."""
        tokens = self._exchange(callback.code, pending.code_verifier)
        claims = self._verify(tokens, nonce=pending.nonce)
        # Google's `iss` comes with or without the scheme: one issuer, one spelling.
        identity = dataclasses.replace(ProvenIdentity.from_claims(claims), issuer=self.settings.google_issuer)
        return GoogleIdentity(
            identity=identity,
            name=str(claims.get("name") or claims.get("email") or identity.subject),
            next_path=safe_next_path(pending.next_path),
        )

    def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        settings = self.settings
        secret = settings.google_client_secret.get_secret_value() if settings.google_client_secret else ""
        try:
            tokens = self.fetch(
                settings.google_token_url,
                form={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "client_id": settings.google_client_id or "",
                    "client_secret": secret,
                    "code_verifier": verifier,
                },
            )
        except OutboundError as error:
            if error.status is not None and 400 <= error.status < 500:
                raise LoginRejected("code_rejected", "Google refused the sign-in code; start again.") from error
            raise ServiceUnavailable("Google could not be reached; try signing in again.") from error
        if not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            raise LoginRejected("no_id_token", "Google's answer had no ID token; start again.")
        return tokens

    def _verify(self, tokens: dict[str, Any], *, nonce: str) -> dict[str, Any]:
        settings = self.settings
        issuers = {settings.google_issuer, settings.google_issuer.removeprefix("https://")}
        try:
            claims = verify_jwt(
                tokens["id_token"],
                keys=self.jwks,
                jwks_url=settings.google_jwks_url,
                issuers=issuers,
                audience=settings.google_client_id or "",
                algorithms=["RS256"],
                nonce=nonce,
            )
        except TokenRejected as rejected:
            raise LoginRejected(f"id_token_{rejected.reason}", "Google's ID token could not be verified.") from rejected
        allowed = settings.google_allowed_domains
        if allowed and not any(hmac.compare_digest(str(claims.get("hd", "")), domain) for domain in allowed):
            raise LoginRejected("domain_not_allowed", "Accounts of this domain may not sign in here.")
        return claims
