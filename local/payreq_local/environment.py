"""A function's environment on this machine: what Lambda would give it, pointed at local services.

Order, later wins: the variables Lambda itself sets (`AWS_LAMBDA_FUNCTION_NAME`, ...), then the
template's Globals + the function's own `Environment` (intrinsics resolved with local parameter
values), then the local endpoints (the embedded database, moto, the gateway), then whatever the
developer passes with `--env-vars` (same file format as `sam local --env-vars`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from payreq_local import iam
from payreq_local.intrinsics import REGION, Resolver, TemplateError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from payreq_local.template import FunctionSpec

# Values for the template's parameters on this machine (defaults cover the rest). The stage is
# `local` in resource names too, so nothing local can be mistaken for a deployed stack.
LOCAL_PARAMETERS: dict[str, Any] = {
    "Stage": "local",
    "DbProxyEndpoint": "localhost",
    "DbProxyResourceId": "prx-local",
    "SubnetIds": "",
    "SecurityGroupIds": "",
    # Test-token login (POST /auth/test-login) on: the way to sign in locally without Google.
    "TestLoginToken": "payreq-local",
    # The template has no default (a deployed stage must name its site); the gateway adds its own.
    "AllowedOrigins": "http://localhost:3000",
}

# The template parameter listing the browser origins the API and the bucket accept.
ALLOWED_ORIGINS = "AllowedOrigins"

# Dummy credentials: every AWS call goes to moto (or, for @connections, to the gateway).
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# From the developer's shell, only what a process needs to run at all; the rest of the shell
# (a DATABASE_URL, AWS profiles) must not leak into functions.
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "USER", "SYSTEMROOT")

# Local values for variables the template declares; set only where the template declares them.
_DECLARED_OVERRIDES = ("PAYREQ_WEBSOCKET_MANAGEMENT_URL",)


@dataclass(frozen=True)
class LocalEndpoints:
    database_url: str
    s3_url: str
    sqs_url: str
    gateway_url: str


def own_origins(host: str, port: int) -> list[str]:
    """The browser origins of the gateway's own pages (the demo page): a loopback or wildcard
    address is reached as localhost and as 127.0.0.1 alike."""
    if host in ("127.0.0.1", "localhost", "0.0.0.0", "::", "::1", ""):
        return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    return [f"http://{host}:{port}"]


def browser_origin(value: str) -> str:
    """An origin as browsers send it (`http://localhost:5173`: scheme, host, port; no path)."""
    origin = value.strip().rstrip("/")
    parsed = urlsplit(origin)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path or parsed.query:
        raise argparse.ArgumentTypeError(f"{value!r} is not an origin such as http://localhost:5173")
    return origin


def with_own_origins(template: Mapping[str, Any], parameters: Mapping[str, Any], origins: list[str]) -> dict[str, Any]:
    """`parameters` with the gateway's own origins added to AllowedOrigins (CORS, the CSRF check
    and the WebSocket's Origin allow-list), so the stack's demo page works on whatever port it got;
    origins from the template's default or `--parameter-overrides` stay allowed."""
    declared = (template.get("Parameters") or {}).get(ALLOWED_ORIGINS)
    if declared is None:
        return dict(parameters)
    current = parameters.get(ALLOWED_ORIGINS, declared.get("Default", ""))
    listed = current if isinstance(current, list) else [item.strip() for item in str(current).split(",")]
    return {**parameters, ALLOWED_ORIGINS: ",".join(dict.fromkeys(item for item in [*listed, *origins] if item))}


def read_env_vars_file(path: Path | None) -> dict[str, dict[str, str]]:
    """`{"Parameters": {...}, "<FunctionLogicalId>": {...}}`, as `sam local --env-vars` takes."""
    if path is None:
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(value, dict) for value in data.values()):
        raise TemplateError(f"{path}: expected {{'Parameters' or a function name: {{VARIABLE: value}}}}")
    return {name: {str(key): str(value) for key, value in values.items()} for name, values in data.items()}


def function_environment(
    spec: FunctionSpec,
    resolver: Resolver,
    endpoints: LocalEndpoints,
    env_vars: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    local_name = resolver.local_name(spec.name)
    environment = {name: os.environ[name] for name in _PASS_THROUGH if name in os.environ}
    environment.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": local_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{local_name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            # Lambda's code directory and its layers, as /var/task and /opt/python are there.
            "PYTHONPATH": os.pathsep.join(str(path) for path in (spec.code_dir, *spec.layer_dirs)),
            # Log lines reach the terminal as they are written, not when a buffer fills.
            "PYTHONUNBUFFERED": "1",
        }
    )
    declared = {
        name: resolver.resolve_string(value, f"{spec.name} environment variable {name}")
        for name, value in spec.environment.items()
    }
    environment.update(declared)
    environment.update(
        {
            **LOCAL_CREDENTIALS,
            "AWS_REGION": resolver.region or REGION,
            "AWS_DEFAULT_REGION": resolver.region or REGION,
            "DATABASE_URL": endpoints.database_url,
            "AWS_ENDPOINT_URL_S3": endpoints.s3_url,
            "AWS_ENDPOINT_URL_SQS": endpoints.sqs_url,
            # moto serves every service on the one endpoint: the template's KMS keys are there too.
            "AWS_ENDPOINT_URL_KMS": endpoints.sqs_url,
            "PAYREQ_STAGE": "local",
            # Webhook receivers on this machine are what the local stack delivers to.
            "PAYREQ_WEBHOOK_LOCAL_RECEIVERS": "127.0.0.0/8 ::1/128",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    # The worker refuses the AWS calls this role does not allow, as AWS would (iam.py).
    environment[iam.ENVIRONMENT_VARIABLE] = iam.role_policy(resolver.template, resolver, spec.name).to_json()
    local_values = {"PAYREQ_WEBSOCKET_MANAGEMENT_URL": endpoints.gateway_url}
    environment.update({name: local_values[name] for name in _DECLARED_OVERRIDES if name in declared})
    for scope in ("Parameters", spec.name):
        environment.update((env_vars or {}).get(scope, {}))
    return environment
