"""HTTP entry point of the auth function: sign-in, sessions, API tokens, users."""

from __future__ import annotations

from auth_api.routes import sign_in, tokens, users
from payreq.http import http_function
from payreq.settings import auth_settings

# Validated at cold start: in prod, a configured test-login token stops the function here.
auth_settings()

app, lambda_handler = http_function("auth", sign_in.router, tokens.router, users.router)
