"""API tokens: issued once, scoped to what the owner holds, refused once revoked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from payreq.db.schema import api_tokens, audit_events, denial_windows, idempotency_keys
from support.api_client import ApiClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine


def cli_with(token: str) -> ApiClient:
    return ApiClient(headers={"Authorization": f"Bearer {token}"})


def test_a_token_works_within_its_scopes_and_not_beyond(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    # Given a user who holds users.admin and tokens.manage, and issues a token for users.admin only
    browser = signed_in("ops@example.com", ("users.admin", "tokens.manage"))
    issued = browser.post("/api/v1/tokens", json_body={"name": "ci", "scopes": ["users.admin"]})
    assert issued.status == 201, issued.body
    assert issued.headers["location"] == f"/api/v1/tokens/{issued.body['id']}"
    cli = cli_with(issued.body["token"])

    # Then the CLI may do what the token allows...
    assert cli.get("/api/v1/users").status == 200
    assert cli.get("/api/v1/me").body["permissions"] == ["users.admin"]
    # ...and is refused, on record, what it does not
    refused = cli.get("/api/v1/tokens")
    assert (refused.status, refused.error_code) == (403, "forbidden")
    with engine.connect() as connection:
        last = connection.execute(select(audit_events).order_by(audit_events.c.id.desc()).limit(1)).mappings().one()
    assert (last["action"], last["after"]["permission"]) == ("access_denied", "tokens.manage")
    # And only a hash of the secret was stored
    with engine.connect() as connection:
        stored = connection.execute(select(api_tokens.c.token_hash, api_tokens.c.token_prefix)).one()
    assert issued.body["token"].encode() not in stored.token_hash
    assert issued.body["token"].startswith(stored.token_prefix)


def test_a_revoked_token_is_refused(signed_in: Callable[..., ApiClient], engine: Engine) -> None:
    browser = signed_in("ops@example.com", ("users.admin", "tokens.manage"))
    issued = browser.post("/api/v1/tokens", json_body={"name": "laptop", "scopes": ["users.admin"]}).body
    cli = cli_with(issued["token"])
    assert cli.get("/api/v1/users").status == 200

    revoked = browser.post(f"/api/v1/tokens/{issued['id']}/revoke")

    assert revoked.status == 200 and revoked.body["revokedAt"] is not None
    response = cli.get("/api/v1/users")
    assert (response.status, response.body["error"]["message"]) == (401, "The bearer token has been revoked.")
    with engine.connect() as connection:
        actions = connection.scalars(select(audit_events.c.action).order_by(audit_events.c.id)).all()
    assert actions[-4:] == ["token_issued", "token_revoked", "bad_token", "access_denied"]


def test_a_token_cannot_carry_permissions_its_owner_lacks(signed_in: Callable[..., ApiClient]) -> None:
    browser = signed_in("dev@example.com", ("tokens.manage", "pr.read"))

    response = browser.post("/api/v1/tokens", json_body={"name": "x", "scopes": ["pr.read", "users.admin"]})

    assert (response.status, response.error_code) == (422, "validation_error")
    assert [(d["field"], d["code"]) for d in response.body["error"]["details"]] == [("scopes", "scope_not_held")]
    assert "users.admin" in response.body["error"]["details"][0]["message"]


def test_taking_a_permission_from_a_user_takes_it_from_their_tokens(
    signed_in: Callable[..., ApiClient],
) -> None:
    ops = signed_in("ops@example.com", ("users.admin", "tokens.manage"))
    cli = cli_with(ops.post("/api/v1/tokens", json_body={"name": "ci", "scopes": ["users.admin"]}).body["token"])
    admin = signed_in("root@example.com", ("users.admin",))
    ops_user = ops.get("/api/v1/me").body

    admin.patch(
        f"/api/v1/users/{ops_user['id']}",
        json_body={"permissions": ["tokens.manage"]},
        headers={"If-Match": f'"{ops_user["version"]}"'},
    )

    assert cli.get("/api/v1/users").status == 403


def test_garbage_bearer_tokens_are_401_and_recorded(database_url: str, engine: Engine) -> None:
    for garbage in ("prq_not-a-real-token", "not.a.jwt", "Basic dXNlcjpwYXNz"):
        client = ApiClient(headers={"Authorization": garbage if garbage.startswith("Basic") else f"Bearer {garbage}"})
        assert client.get("/api/v1/me").status == 401
    with engine.connect() as connection:
        reasons = connection.scalars(
            select(audit_events.c.after["reason"].astext).where(audit_events.c.action == "bad_token")
        ).all()
        counted = dict(
            connection.execute(
                select(denial_windows.c.kind, denial_windows.c.count).where(denial_windows.c.action == "bad_token")
            ).all()
        )
    # One event per reason and minute; the repeat is counted, not appended.
    assert reasons == ["unknown_token", "invalid_token"]
    assert counted == {"unknown_token": 1, "invalid_token": 2}


def test_a_retried_token_issue_never_hands_out_a_stored_secret(
    signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    # Given a token issued with an Idempotency-Key
    browser = signed_in("ops@example.com", ("users.admin", "tokens.manage"))
    retry = {"Idempotency-Key": "issue-ci-token"}
    first = browser.post("/api/v1/tokens", json_body={"name": "ci", "scopes": ["users.admin"]}, headers=retry)

    # When the same request is sent again with the same key
    second = browser.post("/api/v1/tokens", json_body={"name": "ci", "scopes": ["users.admin"]}, headers=retry)

    # Then it is not a replay: a second token with its own secret, and no response was stored for the key
    assert (first.status, second.status) == (201, 201)
    assert "idempotent-replayed" not in second.headers
    assert second.body["id"] != first.body["id"] and second.body["token"] != first.body["token"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(idempotency_keys)) == 0
