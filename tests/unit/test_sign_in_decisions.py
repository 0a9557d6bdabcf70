"""Sign-in and user-admin decisions that need no database: which Google callbacks are refused
before anything is looked up, and which of a user's columns a change sets."""

from __future__ import annotations

import pytest

from auth_api.google_login import Callback, GoogleLogin, LoginRejected, browser_binding
from auth_api.models import UserChanges
from auth_api.user_admin import changed_columns
from payreq.settings import AuthSettings


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> GoogleLogin:
    monkeypatch.setenv("PAYREQ_STAGE", "local")
    return GoogleLogin(AuthSettings())


def test_a_callback_back_in_the_browser_that_started_it_is_accepted(google: GoogleLogin) -> None:
    # Given a callback whose state matches the sign-in cookie's hash
    binding = browser_binding("the-state")

    # When it is checked
    callback = google.accept(code="the-code", state="the-state", error=None, binding=binding)

    # Then it goes on to be consumed, with its code and state
    assert callback == Callback("the-code", "the-state")


@pytest.mark.parametrize(
    ("code", "state", "error", "binding", "reason"),
    [
        ("the-code", "the-state", "access_denied", browser_binding("the-state"), "provider_error"),
        (None, "the-state", None, browser_binding("the-state"), "missing_state"),
        ("the-code", None, None, browser_binding("the-state"), "missing_state"),
        ("the-code", "the-state", None, None, "browser_mismatch"),
        # An attacker's own callback sent to a victim: the victim's cookie binds another sign-in.
        ("the-code", "the-state", None, browser_binding("the-victims-state"), "browser_mismatch"),
    ],
)
def test_a_callback_this_browser_did_not_start_is_refused_for_its_reason(
    google: GoogleLogin, code: str | None, state: str | None, error: str | None, binding: str | None, reason: str
) -> None:
    # When a callback is checked that is incomplete, an error, or not this browser's
    with pytest.raises(LoginRejected) as refused:
        google.accept(code=code, state=state, error=error, binding=binding)

    # Then it is refused with the reason the security log records
    assert refused.value.reason == reason


def test_a_user_change_sets_only_the_columns_it_names() -> None:
    # Given a change of the name and the permissions only
    changes = UserChanges.model_validate({"displayName": "Alice A.", "permissions": ["pr.read"]})

    # Then the user's own columns it sets are the name (permissions are a table of their own)
    assert changed_columns(changes) == {"display_name": "Alice A."}


def test_a_user_change_that_sends_null_sets_null_as_sent() -> None:
    # Given a change that sends is_active as null
    changes = UserChanges.model_validate({"isActive": None})

    # Then the column is set as sent, not dropped
    assert changed_columns(changes) == {"is_active": None}
