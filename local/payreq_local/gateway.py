"""The local API Gateway: the template's HTTP API, its WebSocket API and the @connections endpoint.

One aiohttp server on one port:
- every other path: the HTTP API. Routes come from template.yaml; a route behind the Lambda
  authorizer runs the real authorizer function first (authorizer.py has the cache and verdicts),
  then the route's function gets a payload 2.0 event; CORS preflights are answered from the
  HttpApi's CorsConfiguration, as API Gateway does.
- `/ws` (API Gateway puts the WebSocket API on its own host): $connect, messages routed by the
  route selection expression ($default as fallback), $disconnect.
- `/@connections/{id}`: the API Gateway Management API (POST sends, GET describes, DELETE closes;
  unknown ids answer 410 GoneException), which boto3's `apigatewaymanagementapi` reaches with
  `endpoint_url` = this server's URL.
- `/docs`, `/openapi.json`: Swagger UI and the merged OpenAPI document of every function.
- `POST /_local/schedules/<Function>`: run the function's `Type: Schedule` event now;
- `/_local/invocations`: the recent invocations (function, trigger, route, status, duration), for
  tests and curious developers.
- `/` and `/demo/*`: the demo page (static files in `demo/`), only where no template route but `$default` matches,
  so it can never shadow the API.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from payreq_local.authorizer import FORBIDDEN, INTERNAL_ERROR, UNAUTHORIZED, AuthorizerCache
from payreq_local.events import (
    Connection,
    HttpRequest,
    InvalidResponse,
    authorizer_decision,
    authorizer_event,
    http_event,
    http_response,
    identity_values,
    new_id,
    select_websocket_route,
    websocket_connect_event,
    websocket_disconnect_event,
    websocket_message_event,
)
from payreq_local.routing import Match, RouteTable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from payreq_local.schedules import ScheduleRunner
    from payreq_local.template import Application, HttpRoute, S3Trigger, ScheduleTrigger, SqsTrigger
    from payreq_local.workers import InvocationResult, Workers

log = logging.getLogger("payreq_local")

WEBSOCKET_PATH = "/ws"
MAX_BODY_BYTES = 10 * 1024 * 1024  # the HTTP API's payload limit
_SWAGGER_ASSETS = ("swagger-ui-bundle.min.js", "swagger-ui.min.css")
DEMO_DIR = Path(__file__).parent / "demo"
# Path -> file of the demo page; read once, so a request can only ever name one of these files.
DEMO_FILES = {"/": DEMO_DIR / "index.html"} | {
    f"/demo/{file.name}": file for file in sorted(DEMO_DIR.iterdir()) if file.suffix in {".js", ".css", ".svg"}
}


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


# ------------------------------------------------------------------------------ invocation log


class Journal:
    """The recent invocations, printed one line each and kept for `/_local/invocations`."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)
        self._sequence = itertools.count(1)

    def record(
        self,
        source: str,
        subject: str,
        function: str | None,
        status: str | int,
        duration_ms: float,
        result: InvocationResult | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": next(self._sequence),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": source,
            "subject": subject,
            "function": function,
            "status": status,
            "durationMs": round(duration_ms, 2),
            **details,
        }
        cold = ""
        if result is not None:
            entry["coldStartMs"] = round(result.cold_start_ms, 1) if result.cold_start_ms is not None else None
            if result.error:
                entry["error"] = {key: result.error.get(key) for key in ("errorType", "errorMessage")}
            if result.cold_start_ms is not None:
                cold = f", cold start {result.cold_start_ms:.0f} ms"
        self._entries.append(entry)
        target = f" -> {function}" if function else ""
        failure = f" [{entry['error']['errorType']}: {entry['error']['errorMessage']}]" if "error" in entry else ""
        log.info("%-4s %s%s %s (%.1f ms%s)%s", source.upper(), subject, target, status, duration_ms, cold, failure)
        return entry

    def query(self, *, function: str | None = None, source: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self._entries
            if entry["seq"] > since
            and (function is None or entry["function"] == function)
            and (source is None or entry["source"] == source)
        ]


# ------------------------------------------------------------------------------------ gateway


@dataclass
class _LiveConnection:
    info: Connection
    socket: web.WebSocketResponse
    last_active: float = field(default_factory=time.time)


class Gateway:
    def __init__(
        self,
        application: Application,
        workers: Workers,
        *,
        openapi: Callable[[], Awaitable[dict[str, Any]]],
        processes: Callable[[], dict[str, Any]] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.application = application
        self.workers = workers
        self.journal = journal or Journal()
        self.routes: RouteTable[HttpRoute] = RouteTable(application.routes)
        self.authorizer_cache = AuthorizerCache()
        self._openapi_source = openapi
        self._processes = processes or dict
        self._openapi: asyncio.Task[dict[str, Any]] | None = None
        self._connections: dict[str, _LiveConnection] = {}
        self._background: set[asyncio.Task[Any]] = set()
        # Set once the schedules run (`__main__`): `POST /_local/schedules/<Function>` runs one now.
        self.schedules: ScheduleRunner | None = None

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/_local/invocations", self._invocations)
        app.router.add_get("/_local/processes", self._process_list)
        app.router.add_post("/_local/schedules/{function}", self._run_schedule)
        app.router.add_get("/openapi.json", self._openapi_json)
        app.router.add_get("/docs", self._docs)
        app.router.add_get("/docs/{asset}", self._docs_asset)
        app.router.add_route("*", "/@connections/{connection_id}", self._connections_api)
        app.router.add_get(WEBSOCKET_PATH, self._websocket)
        # [\s\S]: a path with an encoded newline is still the API's to answer (`.` stops at one).
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._http)
        return app

    async def close(self) -> None:
        """Close every WebSocket (each runs its $disconnect), then wait for in-flight work."""
        await asyncio.gather(
            *(live.socket.close(code=1001, message=b"Going away") for live in list(self._connections.values())),
            return_exceptions=True,
        )
        if self._background:
            await asyncio.wait(self._background, timeout=5.0)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------------- HTTP API

    async def _http(self, request: web.Request) -> web.StreamResponse:
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
                "http", f"OPTIONS {incoming.path}", None, response.status, _ms(started), note="CORS preflight"
            )
            return response
        match = self.routes.match(incoming.method, incoming.path)
        unrouted = match is None or match.route.path == "$default"
        if unrouted and incoming.method in ("GET", "HEAD") and incoming.path in DEMO_FILES:
            return _demo_file(DEMO_FILES[incoming.path])
        if match is None:
            # API Gateway's own answer when the API has no $default route.
            response = _json_response(404, {"message": "Not Found"})
            self.journal.record("http", f"{incoming.method} {incoming.path}", None, 404, _ms(started), note="no route")
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
            verdict = await self._authorize(route, incoming, parameters, request_id)
            if isinstance(verdict, tuple):
                status, body = verdict
                self.journal.record(
                    "http",
                    subject,
                    None,
                    status,
                    _ms(started),
                    route=route.route_key,
                    requestId=request_id,
                    note="refused by the authorizer",
                )
                return _json_response(status, body)
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
            if not result.ok:
                raise InvalidResponse("the function failed")
            answer = http_response(result.result)
            response = web.Response(status=answer.status, body=answer.body)
            for key, value in answer.headers:
                response.headers.add(key, value)
        except InvalidResponse as error:
            if result.ok:
                log.warning("%s answered something API Gateway cannot use: %s", route.function, error)
            response = _json_response(*INTERNAL_ERROR)
        self.journal.record(
            "http",
            subject,
            route.function,
            response.status,
            _ms(started),
            result,
            route=route.route_key,
            requestId=request_id,
        )
        return response

    async def _authorize(
        self, route: HttpRoute, incoming: HttpRequest, parameters: dict[str, str], request_id: str
    ) -> dict[str, Any] | tuple[int, dict[str, str]]:
        """The authorizer's context for the route's function, or API Gateway's refusal."""
        authorizer = route.authorizer
        assert authorizer is not None
        identity = identity_values(authorizer.identity_sources, incoming)
        if identity is None:
            return UNAUTHORIZED
        decision = self.authorizer_cache.get(authorizer, identity)
        if decision is None:
            started = time.perf_counter()
            event = authorizer_event(
                incoming,
                route_key=route.route_key,
                path_parameters=parameters,
                api_id=self.application.http_api_id,
                request_id=request_id,
                identity=identity,
            )
            result = await self.workers[authorizer.function].invoke(event, request_id)
            try:
                if not result.ok:
                    raise InvalidResponse("the authorizer failed")
                decision = authorizer_decision(result.result, simple_responses=authorizer.simple_responses)
            except InvalidResponse as error:
                self.journal.record(
                    "auth", route.route_key, authorizer.function, "error", _ms(started), result, requestId=request_id
                )
                if result.ok:
                    log.warning("%s: %s", authorizer.function, error)
                return INTERNAL_ERROR
            self.journal.record(
                "auth",
                route.route_key,
                authorizer.function,
                "allow" if decision.authorized else "deny",
                _ms(started),
                result,
                requestId=request_id,
            )
            self.authorizer_cache.put(authorizer, identity, decision)
        return decision.context if decision.authorized else FORBIDDEN

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

    # ------------------------------------------------------------------------ WebSocket

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        api = self.application.websocket
        if api is None:
            return _json_response(404, {"message": "Not Found"})
        if request.headers.get("upgrade", "").lower() != "websocket":
            return _json_response(426, {"message": "Upgrade Required"})
        info = Connection(
            connection_id=new_id(),
            api_id=api.api_id,
            stage=api.stage,
            domain_name=request.host,
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("user-agent", ""),
        )
        connect = api.routes.get("$connect")
        if connect is not None:
            started, request_id = time.perf_counter(), new_id()
            event = websocket_connect_event(
                info,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
                raw_query=request.rel_url.raw_query_string,
                request_id=request_id,
            )
            result = await self.workers[connect.function].invoke(event, request_id)
            status = _status_of(result)
            self.journal.record(
                "ws", "$connect", connect.function, status, _ms(started), result, connectionId=info.connection_id
            )
            if not 200 <= status < 300:
                # The handshake fails with the function's status, as API Gateway's does.
                return web.Response(status=status)
        socket = web.WebSocketResponse(max_msg_size=128 * 1024)
        await socket.prepare(request)
        live = _LiveConnection(info, socket)
        self._connections[info.connection_id] = live
        try:
            async for message in socket:
                live.last_active = time.time()
                if message.type == WSMsgType.TEXT:
                    self._spawn(self._on_message(live, message.data, is_base64=False))
                elif message.type == WSMsgType.BINARY:
                    self._spawn(self._on_message(live, base64.b64encode(message.data).decode(), is_base64=True))
        finally:
            self._connections.pop(info.connection_id, None)
            disconnect = api.routes.get("$disconnect")
            if disconnect is not None:
                started, request_id = time.perf_counter(), new_id()
                event = websocket_disconnect_event(
                    info, status_code=socket.close_code or 1005, reason=_close_reason(socket), request_id=request_id
                )
                result = await self.workers[disconnect.function].invoke(event, request_id)
                self.journal.record(
                    "ws",
                    "$disconnect",
                    disconnect.function,
                    _status_of(result),
                    _ms(started),
                    result,
                    connectionId=info.connection_id,
                )
        return socket

    async def _on_message(self, live: _LiveConnection, body: str, *, is_base64: bool) -> None:
        api = self.application.websocket
        assert api is not None
        started, request_id = time.perf_counter(), new_id()
        connection_id = live.info.connection_id
        route = None if is_base64 else select_websocket_route(api, body)
        if route is None and is_base64:
            route = api.routes.get("$default")
        if route is None:
            self.journal.record("ws", "(no route)", None, 403, _ms(started), connectionId=connection_id)
            await _send_quietly(
                live, json.dumps({"message": "Forbidden", "connectionId": connection_id, "requestId": request_id})
            )
            return
        event = websocket_message_event(
            live.info, route_key=route.route_key, body=body, is_base64=is_base64, request_id=request_id
        )
        result = await self.workers[route.function].invoke(event, request_id)
        status = _status_of(result)
        self.journal.record(
            "ws", route.route_key, route.function, status, _ms(started), result, connectionId=connection_id
        )
        if not result.ok:
            error = {"message": "Internal server error", "connectionId": connection_id, "requestId": request_id}
            await _send_quietly(live, json.dumps(error))
        elif route.two_way and isinstance(result.result, dict) and result.result.get("body") is not None:
            await _send_quietly(live, str(result.result["body"]))

    # ------------------------------------------------------------------------ @connections

    async def _connections_api(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        connection_id = request.match_info["connection_id"]
        live = self._connections.get(connection_id)
        subject = f"{request.method} @connections/{connection_id}"
        if live is None or live.socket.closed:
            self.journal.record("mgmt", subject, None, 410, _ms(started))
            return _json_response(
                410, {"message": f"Connection {connection_id} is gone"}, headers={"x-amzn-ErrorType": "GoneException"}
            )
        if request.method == "POST":
            data = await request.read()
            try:
                await live.socket.send_str(data.decode())
            except UnicodeDecodeError:
                await live.socket.send_bytes(data)
            response: web.StreamResponse = web.Response(status=200)
        elif request.method == "GET":
            response = _json_response(
                200,
                {
                    "connectedAt": _iso(live.info.connected_at),
                    "identity": {"sourceIp": live.info.source_ip, "userAgent": live.info.user_agent},
                    "lastActiveAt": _iso(live.last_active),
                },
            )
        elif request.method == "DELETE":
            self._spawn(live.socket.close(code=1000, message=b"Closed by the server"))
            response = web.Response(status=204)
        else:
            response = _json_response(405, {"message": "Method Not Allowed"})
        self.journal.record("mgmt", subject, None, response.status, _ms(started))
        return response

    # ------------------------------------------------------------------------ local extras

    async def _invocations(self, request: web.Request) -> web.Response:
        query = request.query
        entries = self.journal.query(
            function=query.get("function"), source=query.get("source"), since=int(query.get("since", "0"))
        )
        return _json_response(200, {"items": entries})

    async def _run_schedule(self, request: web.Request) -> web.Response:
        function = request.match_info["function"]
        results = await self.schedules.run_now(function) if self.schedules is not None else []
        if not results:
            return _json_response(404, {"error": f"{function} has no schedule"})
        return _json_response(
            200 if all(result.ok for result in results) else 502,
            {"results": [result.result if result.ok else None for result in results]},
        )

    async def _process_list(self, request: web.Request) -> web.Response:
        # Every process the stack runs, so a test can check that Ctrl-C leaves none behind.
        workers = {name: pool.pids for name, pool in self.workers.pools.items() if pool.pids}
        return _json_response(200, {"gateway": os.getpid(), **self._processes(), "workers": workers})

    async def openapi_document(self) -> dict[str, Any]:
        # Built once, on first use: it asks each HTTP function's warm worker for its resolver's schema.
        if self._openapi is None or (self._openapi.done() and self._openapi.exception() is not None):
            self._openapi = asyncio.ensure_future(self._openapi_source())
        return await asyncio.shield(self._openapi)

    async def _openapi_json(self, request: web.Request) -> web.Response:
        return _json_response(200, await self.openapi_document())

    async def _docs(self, request: web.Request) -> web.Response:
        document = await self.openapi_document()
        if request.query.get("format") == "json":
            return _json_response(200, document)
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

        spec = json.dumps(document).replace("</", "<\\/")
        html = generate_swagger_html(spec, "/docs/swagger-ui-bundle.min.js", "/docs/swagger-ui.min.css", "/docs", None)
        return web.Response(text=html, content_type="text/html")

    async def _docs_asset(self, request: web.Request) -> web.StreamResponse:
        asset = request.match_info["asset"]
        if asset not in _SWAGGER_ASSETS:
            return _json_response(404, {"message": "Not Found"})
        import aws_lambda_powertools.event_handler as event_handler

        return web.FileResponse(Path(event_handler.__file__).parent / "openapi" / "swagger_ui" / asset)

    # ------------------------------------------------------------------------ S3 triggers

    async def invoke_sqs(self, trigger: SqsTrigger, event: dict[str, Any]) -> InvocationResult:
        """A batch from an SQS event source (called by the queue poller)."""
        started, request_id = time.perf_counter(), new_id()
        result = await self.workers[trigger.function].invoke(event, request_id)
        subject = f"{trigger.queue} ({len(event['Records'])} message{'s' if len(event['Records']) != 1 else ''})"
        self.journal.record("sqs", subject, trigger.function, "ok" if result.ok else "error", _ms(started), result)
        return result

    async def invoke_schedule(self, trigger: ScheduleTrigger, event: dict[str, Any]) -> InvocationResult:
        """A scheduled event (called by the schedule runner)."""
        started, request_id = time.perf_counter(), new_id()
        result = await self.workers[trigger.function].invoke(event, request_id)
        subject = f"{trigger.event} ({trigger.schedule})"
        self.journal.record("schedule", subject, trigger.function, "ok" if result.ok else "error", _ms(started), result)
        return result

    async def invoke_s3(self, trigger: S3Trigger, event: dict[str, Any], key: str) -> InvocationResult:
        """An S3 trigger's asynchronous invocation (called by the notification poller)."""
        started, request_id = time.perf_counter(), new_id()
        result = await self.workers[trigger.function].invoke(event, request_id)
        self.journal.record(
            "s3",
            f"{trigger.event} {key}",
            trigger.function,
            "ok" if result.ok else "error",
            _ms(started),
            result,
            key=event["Records"][0]["s3"]["object"]["key"],
            response=result.result if result.ok else None,
        )
        return result


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


def _status_of(result: InvocationResult) -> int:
    if not result.ok:
        return 500
    if isinstance(result.result, dict) and "statusCode" in result.result:
        with contextlib.suppress(TypeError, ValueError):
            return int(result.result["statusCode"])
        return 500
    return 200


def _close_reason(socket: web.WebSocketResponse) -> str:
    code = socket.close_code
    return {1000: "Normal closure", 1001: "Going away", 1005: "No status received"}.get(code or 1005, "")


async def _send_quietly(live: _LiveConnection, text: str) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await live.socket.send_str(text)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
