"""A stand-in for Google or a company's identity provider on loopback: real HTTP, real RSA-signed JWTs.

It plays the provider's part of the authorization-code flow with PKCE: the test "consents" with
`authorize(...)`, which returns a one-time code; our code exchanges it at `/token` and verifies
the ID token against `/jwks`. As a company issuer it publishes a discovery document
(`/.well-known/openid-configuration` → `jwks_uri`) and signs bearer JWTs with `sign(...)`,
verified email or not. Tests can make the provider misbehave (wrong audience, expired token,
`alg: none`, ...) to check that we refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "payreq-test-client.apps.googleusercontent.com"
CLIENT_SECRET = "test-client-secret"


@dataclass
class PendingCode:
    claims: dict[str, Any]
    code_challenge: str
    redirect_uri: str
    signing: str = "good"


@dataclass
class FakeOidcProvider:
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "fake-key-1"}))
    codes: dict[str, PendingCode] = field(default_factory=dict)
    token_requests: int = 0
    discovery_requests: int = 0
    jwks_requests: int = 0

    def start(self) -> FakeOidcProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/jwks":
                    provider.jwks_requests += 1
                    self._json(200, KeySet([provider.key]).as_dict(private=False))
                elif self.path == "/.well-known/openid-configuration":
                    provider.discovery_requests += 1
                    self._json(200, provider.discovery_document())
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = provider._token(form) if self.path == "/token" else (404, {"error": "not_found"})
                self._json(status, body)

            def _json(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    def discovery_document(self) -> dict[str, Any]:
        # A path of its own for the keys: a verifier that guessed `<issuer>/jwks` would not find them
        # any more than it would at Okta or Entra ID.
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": self.token_url,
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def google_settings(self) -> dict[str, str]:
        """The AUTH_GOOGLE_* settings that point Payreq's Google sign-in at this provider."""
        return {
            "AUTH_GOOGLE_CLIENT_ID": CLIENT_ID,
            "AUTH_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "AUTH_GOOGLE_ISSUER": self.issuer,
            "AUTH_GOOGLE_AUTHORIZATION_URL": f"{self.issuer}/authorize",
            "AUTH_GOOGLE_TOKEN_URL": self.token_url,
            "AUTH_GOOGLE_JWKS_URL": self.jwks_url,
        }

    # --- the user's side: consenting on the provider's page ----------------------------------

    def authorize(
        self,
        params: dict[str, str],
        *,
        sub: str = "google-sub-1",
        email: str = "ada@example.com",
        signing: str = "good",
        **claim_overrides: Any,
    ) -> str:
        """Consent to the authorization request in `params`; returns the code for the callback."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": params["client_id"],
            "sub": sub,
            "email": email,
            "email_verified": True,
            "name": email.split("@")[0].title(),
            "nonce": params["nonce"],
            "iat": now,
            "exp": now + 3600,
            "hd": email.split("@")[1],
        }
        claims.update(claim_overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        code = secrets.token_urlsafe(16)
        self.codes[code] = PendingCode(claims, params["code_challenge"], params["redirect_uri"], signing)
        return code

    # --- the provider's side -------------------------------------------------------------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        pending = self.codes.pop(form.get("code", ""), None)  # codes work once
        if pending is None or form.get("redirect_uri") != pending.redirect_uri:
            return 400, {"error": "invalid_grant"}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != pending.code_challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, {
            "access_token": "opaque",
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self.sign(pending.claims, pending.signing),
        }

    def sign(self, claims: dict[str, Any], signing: str = "good") -> str:
        """A JWT over `claims`, signed properly or in one of the ways attackers try."""
        if signing == "good":
            return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        if signing == "alg_none":
            return f"{_b64({'alg': 'none', 'kid': self.key.kid})}.{_b64(claims)}."
        if signing == "hs256_with_public_key":
            # The classic confusion: HMAC "signed" with the RSA public key, which anyone has.
            # joserfc refuses to build this, so it is forged by hand, as an attacker would.
            signing_input = f"{_b64({'alg': 'HS256', 'kid': self.key.kid})}.{_b64(claims)}"
            mac = hmac.new(self.key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        if signing == "injected_jwk":
            with warnings.catch_warnings():  # weak on purpose: a 1024-bit key is small enough to fit a header
                warnings.simplefilter("ignore", SecurityWarning)
                attacker = RSAKey.generate_key(1024, private=True, auto_kid=False)
            header = {"alg": "RS256", "kid": self.key.kid, "jwk": attacker.as_dict(private=False)}
            return jwt.encode(header, claims, attacker)
        if signing == "unknown_kid":
            stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
            return jwt.encode({"alg": "RS256", "kid": "not-published"}, claims, stranger)
        raise ValueError(signing)


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
