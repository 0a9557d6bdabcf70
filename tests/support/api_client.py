"""Calls through "API Gateway", in-process: the real authorizer, then the real function handler.

Behaves as a browser would towards it (a cookie jar fed by Set-Cookie), so tests read as what a
user does: sign in, call the API, sign out.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from http.cookies import SimpleCookie
from typing import Any

from payreq_local.template import load_template
from support.events import http_event, load_event
from support.lambda_context import FakeLambdaContext


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    package: str
    public: bool


@cache
def routes() -> list[Route]:
    """template.yaml's HTTP routes: which function serves a path, and whether the authorizer runs."""
    found, default = [], []
    for resource in load_template()["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        package = resource["Properties"]["Handler"].split(".")[0]
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            properties = event["Properties"]
            public = (properties.get("Auth") or {}).get("Authorizer") == "NONE"
            if "Path" not in properties:  # the $default route: whatever no other route matches
                default.append(Route("ANY", re.compile(".*"), package, public))
                continue
            regex = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(properties["Path"]))
            found.append(Route(properties["Method"].upper(), re.compile(f"^{regex}$"), package, public))
    return found + default


def route_for(method: str, path: str) -> Route:
    for route in routes():
        if route.method in (method, "ANY") and route.pattern.match(path):
            return route
    raise AssertionError(f"template.yaml has no route for {method} {path}")


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: Any

    @property
    def error_code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


@dataclass
class ApiClient:
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=lambda: {"X-Requested-With": "XMLHttpRequest"})
    source_ip: str = "198.51.100.23"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        route = route_for(method, path)
        all_headers = {**self.headers, **(headers or {})}
        cookie_list = [f"{name}={value}" for name, value in self.cookies.items()]
        event = http_event(
            method,
            path,
            body=json_body,
            query=query,
            headers=all_headers,
            as_our_frontend=False,
            cookies=cookie_list or None,
        )
        event["requestContext"]["http"]["sourceIp"] = self.source_ip
        event["requestContext"].pop("authorizer", None)
        if not route.public:
            context = self._authorize(event)
            event["requestContext"]["authorizer"] = {"lambda": context}
        handler = importlib.import_module(f"{route.package}.handler")
        raw = handler.lambda_handler(event, FakeLambdaContext())
        response = ApiResponse(
            status=raw["statusCode"],
            headers={k.lower(): v for k, v in (raw.get("headers") or {}).items()},
            cookies=list(raw.get("cookies") or []),
            body=json.loads(raw["body"]) if raw.get("body") else None,
        )
        self._remember(response.cookies)
        return response

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)

    def _authorize(self, event: dict[str, Any]) -> dict[str, str]:
        from auth_api import authorizer

        request = load_event("authorizer_request")
        request.update(
            headers=event["headers"],
            cookies=event.get("cookies"),
            rawPath=event["rawPath"],
            routeKey=event["routeKey"],
            requestContext=event["requestContext"],
        )
        answer = authorizer.lambda_handler(request, FakeLambdaContext("payreq-authorizer"))
        assert answer["isAuthorized"] is True, "the authorizer authenticates; it never refuses"
        return dict(answer.get("context") or {})

    def _remember(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
