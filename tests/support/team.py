"""A team of users and helpers to raise and decide payment requests as they would, over the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from support.api_client import ApiClient, ApiResponse

REQUESTER = ("pr.read", "pr.write")
APPROVER = ("pr.read", "pr.approve")


@dataclass
class Member:
    browser: ApiClient
    id: str


@dataclass
class Team:
    requester: Member
    alice: Member
    bob: Member
    carol: Member
    clerk: Member  # may write and approve, for edits by someone other than the requester
    treasurer: Member  # records payments

    def step(self, name: str, mode: str, *approvers: Member, **extra: Any) -> dict[str, Any]:
        return {"name": name, "mode": mode, "approvers": [member.id for member in approvers], **extra}


def raise_request(by: Member, flow: list[dict[str, Any]] | None = None, **fields: Any) -> ApiResponse:
    body = {
        "title": "Laptops for the new team",
        "payee": "ACME GmbH",
        "amount": "1250.00",
        "currency": "EUR",
        **({"approvalFlow": flow} if flow is not None else {}),
        **fields,
    }
    return by.browser.post("/api/v1/prs", json_body=body)


def submitted(by: Member, flow: list[dict[str, Any]], **fields: Any) -> str:
    """The id of a request raised and submitted by `by`."""
    created = raise_request(by, flow, **fields)
    assert created.status == 201, created.body
    submitted = by.browser.post(f"/api/v1/prs/{created.body['id']}/submit")
    assert submitted.status == 200, submitted.body
    return str(created.body["id"])


def decide(
    member: Member, pr_id: str, action: str, comment: str | None = None, *, if_match: str | None = None
) -> ApiResponse:
    """`member` approves, rejects or withdraws as an approver does: on the version they read, whose
    ETag goes in If-Match (read just now unless `if_match` says what they read earlier)."""
    if if_match is None:
        if_match = member.browser.get(f"/api/v1/prs/{pr_id}").headers.get("etag", '"0"')
    body = {"comment": comment} if action in ("approve", "reject") else {}
    return member.browser.post(f"/api/v1/prs/{pr_id}/{action}", json_body=body, headers={"If-Match": if_match})
