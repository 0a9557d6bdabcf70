"""HTTP conventions shared by every function: the resolver, the error envelope, the auth guard."""

from payreq.http.app import create_app, http_function
from payreq.http.guard import authorize, request_context

__all__ = ["authorize", "create_app", "http_function", "request_context"]
