"""Turning a proven identity into a session: Google sign-in, test-token login, sign-out.

Every sign-in issues a new session id and revokes the one the browser came with, so a session id
planted before sign-in (fixation) is worthless after it.
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payreq.audit import record_change, record_security_event, record_security_event_now
from payreq.auth.sessions import NewSession, revoke_session, start_session
from payreq.auth.users import (
    create_user,
    find_user_by_email,
    find_user_by_google_sub,
    get_user,
    set_permissions,
    update_user,
)
from payreq.db import transaction
from payreq.errors import Forbidden, NotFound, Unauthenticated

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.engine import Connection, Engine, RowMapping

    from auth_api.google_login import GoogleIdentity
    from auth_api.models import TestLogin
    from payreq.audit import SecurityAction
    from payreq.context import RequestContext
    from payreq.settings import AuthSettings


@dataclass(frozen=True)
class SignedIn:
    user: RowMapping
    session: NewSession


def sign_in_with_google(
    engine: Engine,
    settings: AuthSettings,
    identity: GoogleIdentity,
    context: RequestContext,
    *,
    previous_session: str | None,
    now: datetime,
) -> SignedIn:
    with transaction(engine) as connection:
        user = find_user_by_google_sub(connection, identity.sub)
        if user is None:
            # Google verified the address, so an account made for it (by an admin) is theirs.
            existing = find_user_by_email(connection, identity.email)
            if existing is None:
                user_id = create_user(
                    connection,
                    email=identity.email,
                    display_name=identity.name,
                    permissions=settings.default_permissions,
                    google_sub=identity.sub,
                    now=now,
                )
                _record_user_change(connection, context, "user.created", None, user_id)
            else:
                user_id = existing["id"]
                update_user(connection, user_id, now=now, google_sub=identity.sub)
                _record_user_change(connection, context, "user.google_linked", existing, user_id)
            user = get_user(connection, user_id)
            assert user is not None
        if not user["is_active"]:
            raise Forbidden("This account is disabled.", code="account_disabled")
        return _open_session(connection, settings, context, user, "google", previous_session, now)


def test_login(
    engine: Engine,
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
        record_security_event_now(
            engine, context, "login_failed", {"method": "test_token", "reason": "bad_token", "email": request.email}
        )
        raise Unauthenticated("The test-login token is not right.")
    with transaction(engine) as connection:
        user = find_user_by_email(connection, request.email)
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
            user_id = user["id"]
            if request.permissions is not None:
                set_permissions(connection, user_id, request.permissions, granted_by=None)
            if request.display_name:
                update_user(connection, user_id, now=now, display_name=request.display_name)
            _record_user_change(connection, context, "user.updated", user, user_id)
        signed_in = get_user(connection, user_id)
        assert signed_in is not None
        return _open_session(connection, settings, context, signed_in, "test_token", previous_session, now)


def sign_out(engine: Engine, context: RequestContext, session_secret: str | None, *, now: datetime) -> None:
    if not session_secret:
        return
    with transaction(engine) as connection:
        session_id = revoke_session(connection, session_secret, now=now)
        if session_id is not None:
            record_security_event(connection, context, "logout", {"session": str(session_id)})


def _open_session(
    connection: Connection,
    settings: AuthSettings,
    context: RequestContext,
    user: RowMapping,
    method: str,
    previous_session: str | None,
    now: datetime,
) -> SignedIn:
    if previous_session:
        revoke_session(connection, previous_session, now=now)
    session = start_session(
        connection, user["id"], settings=settings, now=now, source_ip=context.source_ip, user_agent=context.user_agent
    )
    actor = dataclasses.replace(context, user_id=user["id"])
    action: SecurityAction = "test_login" if method == "test_token" else "login_succeeded"
    record_security_event(
        connection,
        actor,
        action,
        {"method": method, "session": str(session.id), "permissions": list(user["permissions"])},
    )
    return SignedIn(user, session)


def _record_user_change(
    connection: Connection, context: RequestContext, action: str, before: RowMapping | None, user_id: uuid.UUID
) -> None:
    after = get_user(connection, user_id)
    record_change(
        connection,
        context,
        action=action,
        entity_type="user",
        entity_id=user_id,
        before=_user_fields(before),
        after=_user_fields(after),
    )


def _user_fields(user: RowMapping | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {key: user[key] for key in ("email", "display_name", "is_active", "permissions", "google_sub")}
