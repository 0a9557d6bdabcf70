"""The OpenAPI document of the whole HTTP API, merged from the functions' Powertools resolvers.

Each HTTP function's resolver (`<pkg>.handler.app`) documents its own routes (its pydantic models
are the schemas); a worker of that function, with the function's own environment, produces it.
Powertools' `OpenAPIMerge` joins them (a path+method documented twice is an error). The template
then has the last word: an operation no template route sends to that function is dropped (with a
warning: the resolver serves a route API Gateway never forwards), and operations behind the Lambda
authorizer are marked with its security scheme, scoped to the permission the route's
`authorize(...)` guard requires (which each worker marks on its operations, `mark_permissions`).
Each operation gets its function's tag, a line naming its permission, and the errors it can answer
(401/403 behind a guard, 404 with a path parameter, 409 for a change, 412/428 with If-Match, 422
with input), all in the error envelope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.openapi.compat import model_json
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

from payreq.http.envelope import ErrorEnvelope
from payreq.settings import AuthSettings
from payreq_local.routing import RouteTable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from payreq_local.template import Application, HttpRoute, LambdaAuthorizer
    from payreq_local.workers import Workers

log = logging.getLogger("payreq_local")

TITLE = "Payreq API"
VERSION = "v1"
DESCRIPTION = (
    "Accounts payable: payment requests, approvals, invoices, payments, audit. Merged from the Lambda "
    "functions' resolvers; routes and authorization as in template.yaml."
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What each worker marks on a guarded operation: the permission it needs (null: any signed-in caller).
PERMISSION = "x-payreq-permission"
# One tag per flow (function); the health routes apart.
TAGS = {
    "PrFunction": ("Payment requests", "Payment requests, their approvals, invoice links and approval flow templates."),
    "InvoiceFunction": ("Invoices", "Invoices, their attachments (presigned uploads) and status changes."),
    "PaymentFunction": ("Payments", "Payment methods and the payments recorded against approved requests."),
    "AuthFunction": ("Sign-in and access", "Sessions, API tokens, the signed-in user, user administration."),
    "AuditFunction": ("Audit", "The tamper-evident audit log and security events."),
    "SyncFunction": ("Live sync", "WebSocket tickets and the changes a client missed."),
    "WebhooksFunction": ("Webhooks", "Subscriptions to changes as signed Standard Webhooks, delivery logs, replays."),
}
HEALTH_TAG = ("Health", "Each function's health check (public).")
_WRITES = ("post", "put", "patch", "delete")
ERRORS = {
    "401": "Not signed in: no session cookie or bearer token, or an expired or revoked one (`unauthenticated`)",
    "403": "Signed in without the permission this needs (`forbidden`), or refused for this object (e.g. "
    "`not_requester`, `maker_checker`), or a cookie-authenticated write without X-Requested-With (`csrf_failed`)",
    "404": "No such object, or none this caller may see (`not_found`)",
    "409": "Not allowed in the object's current state (`invalid_transition`, and codes naming the rule)",
    "412": "If-Match names a version that is no longer current (`precondition_failed`): read it again",
    "422": "The input is not valid (`validation_error`): `details` names each field",
    "428": "If-Match is missing (`precondition_required`): send the ETag of the version you read",
}
_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


async def collect_schemas(application: Application, workers: Workers) -> dict[str, dict[str, Any]]:
    """Each HTTP function's own OpenAPI document, asked of its worker (concurrently)."""
    names = application.http_functions
    schemas = await asyncio.gather(*(workers[name].openapi() for name in names))
    return {name: schema for name, schema in zip(names, schemas, strict=True) if schema}


def merge(application: Application, schemas: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    routes: RouteTable[HttpRoute] = RouteTable(application.routes)
    authorizers: dict[str, LambdaAuthorizer] = {}
    merger = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    for function, schema in schemas.items():
        kept = _routed(function, json.loads(json.dumps(schema)), routes, authorizers)
        merger.add_schema(kept)
    document = merger.get_openapi_schema()
    if authorizers:
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        for authorizer in authorizers.values():
            schemes.update(_security_schemes(authorizer))
    document["paths"] = dict(sorted((document.get("paths") or {}).items()))
    _document_errors(document)
    _tags(document)
    _drop_unreferenced_schemas(document)
    # Through Powertools' own model, so the output is exactly what its resolvers would publish.
    return json.loads(model_json(OpenAPI(**document), by_alias=True, exclude_none=True))  # type: ignore[no-any-return]


def mark_permissions(app: Any, schema: dict[str, Any]) -> None:
    """Mark each operation behind an `authorize(...)` guard with the permission it requires, for
    `merge` to publish (run in the function's worker, against its own resolver)."""
    paths = schema.get("paths") or {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        guard = next((m for m in route.middlewares if hasattr(m, "required_permission")), None)
        operation = (paths.get(route.openapi_path) or {}).get(route.method.lower())
        if guard is not None and operation is not None:
            operation[PERMISSION] = guard.required_permission


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _routed(
    function: str, schema: dict[str, Any], routes: RouteTable[HttpRoute], authorizers: dict[str, LambdaAuthorizer]
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in (schema.get("paths") or {}).items():
        # A concrete path the template's route patterns can match: {id} -> "id".
        sample = _PATH_PARAMETER.sub(lambda m: m.group(1).rstrip("+"), path)
        kept: dict[str, Any] = {}
        for method, operation in item.items():
            if method not in _METHODS:
                kept[method] = operation
                continue
            match = routes.match(method.upper(), sample)
            if match is None or match.route.function != function:
                log.warning(
                    "OpenAPI: %s %s of %s has no route in the template; left out", method.upper(), path, function
                )
                continue
            authorizer = match.route.authorizer
            guarded = PERMISSION in operation
            permission = operation.pop(PERMISSION, None)
            if authorizer is not None:
                authorizers[authorizer.name] = authorizer
                # Alternatives: any one of the authorizer's schemes admits the caller, with the scope.
                scopes = [permission] if permission else []
                operation["security"] = [{name: scopes} for name in _security_schemes(authorizer)]
            operation["description"] = _with_permission(operation.get("description"), guarded, permission)
            public = path.startswith("/api/v1/health/")
            operation["tags"] = [(HEALTH_TAG if public else TAGS.get(function, (function, "")))[0]]
            kept[method] = operation
        if any(method in _METHODS for method in kept):
            paths[path] = kept
    return {**schema, "paths": paths}


def _with_permission(description: str | None, guarded: bool, permission: str | None) -> str:
    if not guarded:
        needs = "**Permission:** none (public)."
    elif permission is None:
        needs = "**Permission:** any signed-in caller."
    else:
        needs = f"**Permission:** `{permission}`."
    return f"{description}\n\n{needs}" if description else needs


def _tags(document: dict[str, Any]) -> None:
    used = {tag for item in (document.get("paths") or {}).values() for op in item.values() for tag in op["tags"]}
    known = [*TAGS.values(), HEALTH_TAG]
    document["tags"] = [{"name": name, "description": text} for name, text in known if name in used]


def _errors_of(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The statuses an operation can answer besides success, from what it declares."""
    headers = {p["name"].lower() for p in operation.get("parameters") or [] if p.get("in") == "header"}
    statuses = []
    if any(requirement for requirement in operation.get("security") or []):
        statuses += ["401", "403"]
    if "{" in path:
        statuses.append("404")
    if method in _WRITES and operation.get("security"):
        statuses.append("409")
    if "if-match" in headers:
        statuses += ["412", "428"]
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append("422")
    return sorted(statuses)


def _document_errors(document: dict[str, Any]) -> None:
    """Every operation lists the errors it can answer (`_errors_of`), each in the error envelope:
    Powertools documents its own 422 body instead, which no Payreq route ever sends."""
    schema = ErrorEnvelope.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas[ErrorEnvelope.__name__] = schema
    envelope = {"$ref": f"#/components/schemas/{ErrorEnvelope.__name__}"}
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if any(status in responses for status in ("201", "204")):
                # Powertools adds a default 200 to every operation; these answer only what they declare.
                responses.pop("200", None)
            if "204" in responses:
                responses["204"].pop("content", None)  # no content, whatever the return type says
            for status in _errors_of(path, method, operation):
                responses[status] = {"description": ERRORS[status], "content": _json(envelope)}
            for status, text in (("4XX", "Another client error (`invalid_json`...)"), ("5XX", "A server error")):
                responses[status] = {"description": f"{text}, in the error envelope", "content": _json(envelope)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _drop_unreferenced_schemas(document: dict[str, Any]) -> None:
    """Schemas only the left-out operations used would describe nothing the API serves."""
    schemas = (document.get("components") or {}).get("schemas")
    if not schemas:
        return
    reachable: set[str] = set()
    pending = _references({key: value for key, value in document.items() if key != "components"})
    while pending:
        name = pending.pop()
        if name in reachable or name not in schemas:
            continue
        reachable.add(name)
        pending |= _references(schemas[name])
    document["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in reachable}


def _references(value: Any) -> set[str]:
    prefix = "#/components/schemas/"
    if isinstance(value, dict):
        found = {value["$ref"].removeprefix(prefix)} if str(value.get("$ref", "")).startswith(prefix) else set()
        for item in value.values():
            found |= _references(item)
        return found
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value)) if value else set()
    return set()


def _security_schemes(authorizer: LambdaAuthorizer) -> dict[str, dict[str, Any]]:
    identity = ", ".join(authorizer.identity_sources) or "none"
    description = f"HTTP API Lambda authorizer ({authorizer.function}); identity: {identity}"
    for source in authorizer.identity_sources:
        for prefix, place in (("$request.header.", "header"), ("$request.querystring.", "query")):
            if source.startswith(prefix):
                scheme = {
                    "type": "apiKey",
                    "in": place,
                    "name": source.removeprefix(prefix),
                    "description": description,
                }
                return {authorizer.name: scheme}
    # No identity source: the authorizer reads the credentials itself, which for Payreq's is a
    # bearer token (API token or JWT) or the browser's session cookie.
    cookie = AuthSettings.model_fields["session_cookie"].default
    return {
        authorizer.name: {"type": "http", "scheme": "bearer", "description": f"{description}: an API token or a JWT"},
        f"{authorizer.name}Session": {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie,
            "description": f"{description}: the browser's session (writes also need X-Requested-With)",
        },
    }
