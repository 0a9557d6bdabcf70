"""openapi.json (generated from the functions' resolvers and the template, checked for drift by
`make check`) describes every operation well enough to call it without reading the code: its flow,
the permission it needs, the errors it can answer, the headers it honours, and a typed body."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from payreq_local.template import ROOT

DOCUMENT = json.loads((ROOT / "openapi.json").read_text())
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]
IDS = [f"{method} {path}" for method, path, _ in OPERATIONS]
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
# Where a change runs through `run_change`, which honours Idempotency-Key.
IDEMPOTENT_FLOWS = {"Payment requests", "Invoices", "Payments"}


def header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters") or [] if p["in"] == "header"}


def error_statuses(operation: dict[str, Any]) -> set[str]:
    return {
        status
        for status, response in operation["responses"].items()
        if status[0] in "45" and response["content"]["application/json"]["schema"] == ENVELOPE
    }


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_names_its_flow_and_permission(method: str, path: str, operation: dict[str, Any]) -> None:
    # One tag, one of the document's flows
    assert [tag["name"] for tag in DOCUMENT["tags"] if tag["name"] in operation["tags"]] == operation["tags"]
    assert len(operation["tags"]) == 1
    # The permission in words and, behind the authorizer, as each security scheme's scope
    needs = re.search(
        r"\*\*Permission:\*\* (?:`([a-z.]+)`|any signed-in caller|none \(public\))", operation["description"]
    )
    assert needs is not None, operation["description"]
    if operation.get("security"):
        expected = [needs.group(1)] if needs.group(1) else []
        assert all(scopes == expected for requirement in operation["security"] for scopes in requirement.values())


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_lists_its_errors_in_the_envelope(method: str, path: str, operation: dict[str, Any]) -> None:
    errors = error_statuses(operation)
    assert {"4XX", "5XX"} <= errors
    if operation.get("security"):
        assert {"401", "403"} <= errors
    if "{" in path:
        assert "404" in errors
    if "if-match" in header_names(operation):
        assert {"412", "428"} <= errors
    if operation.get("parameters") or operation.get("requestBody"):
        assert "422" in errors
    if operation.get("security") and method != "GET":
        assert "409" in errors


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_success_has_one_status_and_a_typed_body(method: str, path: str, operation: dict[str, Any]) -> None:
    successes = [status for status in operation["responses"] if status.startswith(("2", "3"))]
    assert len(successes) == 1, successes
    (status,) = successes
    content = operation["responses"][status].get("content") or {}
    if status in ("204", "302"):
        assert content == {}
    elif "application/json" in content:
        schema = content["application/json"]["schema"]
        assert "$ref" in schema or schema.get("type") in ("array", "object"), schema
    else:
        assert content, "a body of some declared media type"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_changes_declare_the_idempotency_key_they_honour(method: str, path: str, operation: dict[str, Any]) -> None:
    if method != "GET" and operation["tags"][0] in IDEMPOTENT_FLOWS:
        assert "idempotency-key" in header_names(operation)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/prs/{pr_id}/approve"),
        ("POST", "/api/v1/prs/{pr_id}/reject"),
        ("POST", "/api/v1/prs/{pr_id}/unapprove"),
        ("PATCH", "/api/v1/prs/{pr_id}"),
        ("POST", "/api/v1/invoices/{invoice_id}/status"),
        ("PATCH", "/api/v1/invoices/{invoice_id}"),
    ],
)
def test_decisions_and_edits_declare_if_match(method: str, path: str) -> None:
    assert "if-match" in header_names(DOCUMENT["paths"][path][method.lower()])


def test_signing_out_is_documented_as_the_204_it_answers() -> None:
    responses = DOCUMENT["paths"]["/auth/logout"]["post"]["responses"]
    assert [status for status in responses if status.startswith("2")] == ["204"]
