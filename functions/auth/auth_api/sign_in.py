"""Turning a proven identity into a session: Google sign-in, test-token login, sign-out.

Every sign-in issues a new session id and revokes the one the browser came with, so a session id
planted before sign-in (fixation) is worthless after it. Each flow runs on the route's unit of work;
a refusal is raised with what the route records of it in a transaction of its own.
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth_api import repository
from auth_api.google_login import LoginRejected
from auth_api.user_audit import SIGNED_IN, record_user_change
from payreq.audit import record_security_event
from payreq.auth.identities import LinkRefused, bind, bound_user, link_by_email
from payreq.auth.sessions import NewSession, revoke_session, start_session
from payreq.auth.users import create_user, set_permissions
from payreq.denials import Denial
from payreq.errors import Forbidden, NotFound, Unauthenticated, detail

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from auth_api.google_login import GoogleIdentity
    from auth_api.models import TestLogin
    from auth_api.records import UserRecord
    from payreq.audit import SecurityAction
    from payreq.auth.identities import ProvenIdentity
    from payreq.context import RequestContext
    from payreq.settings import AuthSettings


TEST_LOGIN_ROUTE = "POST /auth/test-login"


@dataclass(frozen=True)
class SignedIn:
    user: UserRecord
    session: NewSession


class IdentityNotLinked(Unauthenticated):
    """A new Google identity names an existing user it may not take over (401, a security event)."""

    code = "unknown_identity"

    def __init__(self, reason: str) -> None:
        super().__init__(
            "This Google account is not linked to a Payreq user; ask an administrator to link it.",
            details=[detail(None, "no Payreq user may be linked to this Google account", reason)],
        )
        self.reason = reason


class WrongTestLoginToken(Unauthenticated):
    """A test-login with the wrong token (401); `denial` is what the security log counts of it."""

    def __init__(self, email: str) -> None:
        super().__init__("The test-login token is not right.")
        details = {"method": "test_token", "reason": "bad_token", "email": email}
        self.denial = Denial("login_failed", "bad_token", TEST_LOGIN_ROUTE, details)


def sign_in_with_google(
    connection: Connection,
    settings: AuthSettings,
    google: GoogleIdentity,
    context: RequestContext,
    *,
    previous_session: str | None,
    now: datetime,
) -> SignedIn:
    """The user bound to the Google identity (`sub` first); a new identity links to the user with its
    email only when Google verified it and linking is enabled for Google, or creates a user when
    nobody has that address."""
    identity = google.identity
    user_id = bound_user(connection, identity)
    if user_id is None:
        try:
            user_id = link_by_email(
                connection, identity, linking_enabled=settings.links_by_email(identity.issuer), now=now
            )
        except LinkRefused as refused:
            raise IdentityNotLinked(refused.reason) from refused
        if user_id is not None:
            _record_identity_linked(connection, context, user_id, identity)
        else:
            user_id = _create_google_user(connection, settings, google, context, now=now)
    user = repository.user(connection, user_id)
    assert user is not None
    if not user.is_active:
        raise Forbidden("This account is disabled.", code="account_disabled")
    return _open_session(connection, settings, context, user, "google", previous_session, now)


def _create_google_user(
    connection: Connection, settings: AuthSettings, google: GoogleIdentity, context: RequestContext, *, now: datetime
) -> uuid.UUID:
    identity = google.identity
    # A new user takes the address as their own: only one Google has verified.
    if identity.email is None or not identity.email_verified:
        raise LoginRejected("email_unverified", "Your Google account's email address is not verified.")
    user_id = create_user(
        connection, email=identity.email, display_name=google.name, permissions=settings.default_permissions, now=now
    )
    bind(connection, identity, user_id, linked_email=None, now=now)
    _record_user_change(connection, context, "user.created", None, user_id)
    return user_id


def _record_identity_linked(
    connection: Connection, context: RequestContext, user_id: uuid.UUID, identity: ProvenIdentity
) -> None:
    record_security_event(
        connection,
        dataclasses.replace(context, user_id=user_id),
        "identity_linked",
        {"issuer": identity.issuer, "subject": identity.subject, "email": identity.email},
    )


def test_login(
    connection: Connection,
    settings: AuthSettings,
    request: TestLogin,
    context: RequestContext,
    *,
    previous_session: str | None,
    now: datetime,
) -> SignedIn:
    expected = settings.test_login_token
    if expected is None:
        raise NotFound("No such route.", code="route_not_found")  # disabled: as if it did not exist
    if not hmac.compare_digest(request.token.encode(), expected.get_secret_value().encode()):
        raise WrongTestLoginToken(request.email)
    user = repository.user_by_email(connection, request.email)
    if user is None:
        user_id = create_user(
            connection,
            email=request.email,
            display_name=request.display_name or request.email,
            permissions=request.permissions or [],
            now=now,
        )
        _record_user_change(connection, context, "user.created", None, user_id)
    else:
        user_id = user.id
        if request.permissions is not None:
            set_permissions(connection, user_id, request.permissions, granted_by=None)
        if request.display_name:
            repository.update_user(connection, user_id, {"display_name": request.display_name}, now=now)
        _record_user_change(connection, context, "user.updated", user, user_id)
    signed_in = repository.user(connection, user_id)
    assert signed_in is not None
    return _open_session(connection, settings, context, signed_in, "test_token", previous_session, now)


def sign_out(connection: Connection, context: RequestContext, session_secret: str, *, now: datetime) -> None:
    session_id = revoke_session(connection, session_secret, now=now)
    if session_id is not None:
        record_security_event(connection, context, "logout", {"session": str(session_id)})


def _open_session(
    connection: Connection,
    settings: AuthSettings,
    context: RequestContext,
    user: UserRecord,
    method: str,
    previous_session: str | None,
    now: datetime,
) -> SignedIn:
    if previous_session:
        revoke_session(connection, previous_session, now=now)
    session = start_session(
        connection, user.id, settings=settings, now=now, source_ip=context.source_ip, user_agent=context.user_agent
    )
    actor = dataclasses.replace(context, user_id=user.id)
    action: SecurityAction = "test_login" if method == "test_token" else "login_succeeded"
    record_security_event(
        connection,
        actor,
        action,
        {"method": method, "session": str(session.id), "permissions": list(user.permissions)},
    )
    return SignedIn(user, session)


def _record_user_change(
    connection: Connection, context: RequestContext, action: str, before: UserRecord | None, user_id: uuid.UUID
) -> None:
    after = repository.user(connection, user_id)
    record_user_change(connection, context, action, user_id, before=before, after=after, fields=SIGNED_IN)
