"""HTTP conventions shared by every function: the resolver, the error envelope, the auth guard."""

from payreq.http.app import create_app
from payreq.http.guard import authorize, request_context

__all__ = ["authorize", "create_app", "request_context"]
