"""The local HTTP API: the template's `HttpApi` routes, its CORS, and the demo page.

Routes come from template.yaml; a route behind the Lambda authorizer runs the real authorizer
function first (authorizer.py has the cache and verdicts), then the route's function gets a
payload 2.0 event; CORS preflights are answered from the HttpApi's CorsConfiguration, as API
Gateway does. `/` and `/demo/*` serve the demo page (static files in `demo/`), only where no
template route but `$default` matches, so it can never shadow the API.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from payreq_local.authorizer import INTERNAL_ERROR, RouteAuthorizer, answer_of
from payreq_local.events import HttpRequest, InvalidResponse, http_event, http_response, new_id
from payreq_local.journal import ms_since
from payreq_local.routing import Match, RouteTable

if TYPE_CHECKING:
    from payreq_local.journal import Journal
    from payreq_local.template import Application, HttpRoute
    from payreq_local.workers import Workers

log = logging.getLogger("payreq_local")

MAX_BODY_BYTES = 10 * 1024 * 1024  # the HTTP API's payload limit
DEMO_DIR = Path(__file__).parent / "demo"
# Path -> file of the demo page; read once, so a request can only ever name one of these files.
DEMO_FILES = {"/": DEMO_DIR / "index.html"} | {
    f"/demo/{file.name}": file for file in sorted(DEMO_DIR.iterdir()) if file.suffix in {".js", ".css", ".svg"}
}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


class HttpApi:
    def __init__(self, application: Application, workers: Workers, journal: Journal) -> None:
        self.application = application
        self.workers = workers
        self.journal = journal
        self.routes: RouteTable[HttpRoute] = RouteTable(application.routes)
        self.authorizer = RouteAuthorizer(workers, journal, application.http_api_id)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        incoming = await _incoming(request)
        request_id = new_id()
        origin = incoming.header("origin")
        cors = self.application.cors
        if (
            cors is not None
            and request.method == "OPTIONS"
            and origin
            and incoming.header("access-control-request-method")
        ):
            response = self._preflight(incoming, origin)
            self.journal.record(
                "http", f"OPTIONS {incoming.path}", None, response.status, ms_since(started), note="CORS preflight"
            )
            return response
        match = self.routes.match(incoming.method, incoming.path)
        unrouted = match is None or match.route.path == "$default"
        if unrouted and incoming.method in ("GET", "HEAD") and incoming.path in DEMO_FILES:
            return _demo_file(DEMO_FILES[incoming.path])
        if match is None:
            # API Gateway's own answer when the API has no $default route.
            response = json_response(404, {"message": "Not Found"})
            self.journal.record(
                "http", f"{incoming.method} {incoming.path}", None, 404, ms_since(started), note="no route"
            )
        else:
            response = await self._serve(incoming, match, request_id, started)
        response.headers["apigw-requestid"] = request_id
        if cors is not None and origin:
            self._cors_headers(response, origin)
        return response

    async def _serve(
        self, incoming: HttpRequest, match: Match[HttpRoute], request_id: str, started: float
    ) -> web.Response:
        route = match.route
        subject = f"{incoming.method} {incoming.path}"
        parameters = {name: unquote(value) for name, value in match.path_parameters.items()}
        authorizer_context: dict[str, Any] | None = None
        if route.authorizer is not None:
            verdict = await self.authorizer.authorize(route, incoming, parameters, request_id)
            if isinstance(verdict, tuple):
                status, body = verdict
                self.journal.record(
                    "http",
                    subject,
                    None,
                    status,
                    ms_since(started),
                    route=route.route_key,
                    requestId=request_id,
                    note="refused by the authorizer",
                )
                return json_response(status, body)
            authorizer_context = verdict
        event = http_event(
            incoming,
            route_key=route.route_key,
            path_parameters=parameters,
            api_id=self.application.http_api_id,
            request_id=request_id,
            authorizer_context=authorizer_context,
        )
        result = await self.workers[route.function].invoke(event, request_id)
        try:
            answer = http_response(answer_of(result, "the function failed"))
            response = web.Response(status=answer.status, body=answer.body)
            for key, value in answer.headers:
                response.headers.add(key, value)
        except InvalidResponse as error:
            if result.ok:
                log.warning("%s answered something API Gateway cannot use: %s", route.function, error)
            response = json_response(*INTERNAL_ERROR)
        self.journal.record(
            "http",
            subject,
            route.function,
            response.status,
            ms_since(started),
            result,
            route=route.route_key,
            requestId=request_id,
        )
        return response

    def _preflight(self, incoming: HttpRequest, origin: str) -> web.Response:
        cors = self.application.cors
        assert cors is not None
        response = web.Response(status=204)
        if not _origin_allowed(cors.allow_origins, origin):
            return response
        method = (incoming.header("access-control-request-method") or "").upper()
        if cors.allow_methods and "*" not in cors.allow_methods and method not in cors.allow_methods:
            return response
        requested = [
            h.strip() for h in (incoming.header("access-control-request-headers") or "").split(",") if h.strip()
        ]
        allowed = [h for h in requested if "*" in cors.allow_headers or h.lower() in cors.allow_headers]
        self._cors_headers(response, origin)
        response.headers["access-control-allow-methods"] = ",".join(cors.allow_methods or ("*",))
        if allowed:
            response.headers["access-control-allow-headers"] = ",".join(allowed)
        if cors.max_age is not None:
            response.headers["access-control-max-age"] = str(cors.max_age)
        return response

    def _cors_headers(self, response: web.StreamResponse, origin: str) -> None:
        cors = self.application.cors
        assert cors is not None
        if not _origin_allowed(cors.allow_origins, origin):
            return
        # API Gateway's CORS headers replace whatever the function set.
        wildcard = "*" in cors.allow_origins and not cors.allow_credentials
        response.headers["access-control-allow-origin"] = "*" if wildcard else origin
        if cors.allow_credentials:
            response.headers["access-control-allow-credentials"] = "true"
        if cors.expose_headers:
            response.headers["access-control-expose-headers"] = ",".join(cors.expose_headers)
        if not wildcard:
            response.headers.add("vary", "Origin")


async def _incoming(request: web.Request) -> HttpRequest:
    host_port = request.url.port or (443 if request.secure else 80)
    return HttpRequest(
        method=request.method,
        path=request.rel_url.raw_path,
        raw_query=request.rel_url.raw_query_string,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
        body=await request.read(),
        source_ip=request.remote or "127.0.0.1",
        protocol=f"HTTP/{request.version.major}.{request.version.minor}",
        scheme=request.scheme,
        port=host_port,
    )


def _demo_file(path: Path) -> web.FileResponse:
    # Served fresh on every load: a developer editing the page sees the change on reload.
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def _origin_allowed(allowed: tuple[str, ...], origin: str) -> bool:
    return "*" in allowed or origin in allowed
