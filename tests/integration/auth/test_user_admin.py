"""Admins see users a page at a time and change them with optimistic concurrency, audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from payreq.db.schema import audit_events

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from support.api_client import ApiClient


def test_users_are_listed_a_page_at_a_time_in_email_order(signed_in: Callable[..., ApiClient]) -> None:
    for name in ("dora", "ann", "cid", "bob"):
        signed_in(f"{name}@example.com")
    admin = signed_in("zed@example.com", ("users.admin",))

    first = admin.get("/api/v1/users", query={"limit": "2"})
    second = admin.get("/api/v1/users", query={"limit": "2", "cursor": first.body["nextCursor"]})
    third = admin.get("/api/v1/users", query={"limit": "2", "cursor": second.body["nextCursor"]})

    emails = [user["email"] for page in (first, second, third) for user in page.body["items"]]
    assert emails == [f"{n}@example.com" for n in ("ann", "bob", "cid", "dora", "zed")]
    assert third.body["nextCursor"] is None


def test_a_bad_cursor_or_limit_is_a_422(signed_in: Callable[..., ApiClient]) -> None:
    admin = signed_in("zed@example.com", ("users.admin",))

    assert admin.get("/api/v1/users", query={"cursor": "not-a-cursor"}).error_code == "validation_error"
    assert admin.get("/api/v1/users", query={"limit": "500"}).status == 422


def test_changing_permissions_needs_the_current_version_and_is_audited(
    signed_in: Callable[..., ApiClient], engine: Engine
) -> None:
    target = signed_in("ann@example.com", ("pr.read",)).get("/api/v1/me").body
    admin = signed_in("zed@example.com", ("users.admin",))
    path = f"/api/v1/users/{target['id']}"

    missing = admin.patch(path, json_body={"permissions": ["pr.read", "pr.approve"]})
    stale = admin.patch(
        path, json_body={"permissions": ["pr.read", "pr.approve"]}, headers={"If-Match": f'"{target["version"] + 7}"'}
    )
    done = admin.patch(
        path, json_body={"permissions": ["pr.read", "pr.approve"]}, headers={"If-Match": f'"{target["version"]}"'}
    )

    assert (missing.status, missing.error_code) == (428, "precondition_required")
    assert (stale.status, stale.body["error"]["details"][0]["message"]) == (
        412,
        f'the current version is "{target["version"]}"',
    )
    assert done.status == 200 and done.body["permissions"] == ["pr.approve", "pr.read"]
    assert done.headers["etag"] == f'"{target["version"] + 1}"'
    with engine.connect() as connection:
        change = (
            connection.execute(
                select(audit_events).where(audit_events.c.action == "user.updated").order_by(audit_events.c.id.desc())
            )
            .mappings()
            .first()
        )
    assert change is not None
    assert change["before"]["permissions"] == ["pr.read"]
    assert change["after"]["permissions"] == ["pr.approve", "pr.read"]


def test_unknown_fields_in_a_change_are_refused(signed_in: Callable[..., ApiClient]) -> None:
    admin = signed_in("zed@example.com", ("users.admin",))
    me = admin.get("/api/v1/me").body

    response = admin.patch(
        f"/api/v1/users/{me['id']}", json_body={"permisions": []}, headers={"If-Match": f'"{me["version"]}"'}
    )

    assert response.status == 422
    assert response.body["error"]["details"][0]["field"] == "permisions"
