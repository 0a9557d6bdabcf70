"""The local WebSocket API and its `@connections` management endpoint.

- `/ws` (API Gateway puts the WebSocket API on its own host): $connect, messages routed by the
  route selection expression ($default as fallback), $disconnect.
- `/@connections/{id}`: the API Gateway Management API (POST sends, GET describes, DELETE closes;
  unknown ids answer 410 GoneException), which boto3's `apigatewaymanagementapi` reaches with
  `endpoint_url` = the gateway's URL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from payreq_local.events import (
    Connection,
    new_id,
    select_websocket_route,
    websocket_connect_event,
    websocket_disconnect_event,
    websocket_message_event,
)
from payreq_local.http_api import json_response
from payreq_local.journal import ms_since

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from payreq_local.journal import Journal
    from payreq_local.template import Application, WebSocketApi
    from payreq_local.workers import InvocationResult, Workers

WEBSOCKET_PATH = "/ws"


@dataclass
class _LiveConnection:
    info: Connection
    socket: web.WebSocketResponse
    last_active: float = field(default_factory=time.time)


class WebSocketGateway:
    def __init__(self, application: Application, workers: Workers, journal: Journal) -> None:
        self.application = application
        self.workers = workers
        self.journal = journal
        self._connections: dict[str, _LiveConnection] = {}
        self._background: set[asyncio.Task[Any]] = set()

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

    async def handle(self, request: web.Request) -> web.StreamResponse:
        api = self.application.websocket
        if api is None:
            return json_response(404, {"message": "Not Found"})
        if request.headers.get("upgrade", "").lower() != "websocket":
            return json_response(426, {"message": "Upgrade Required"})
        info = Connection(
            connection_id=new_id(),
            api_id=api.api_id,
            stage=api.stage,
            domain_name=request.host,
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("user-agent", ""),
        )
        refusal = await self._connect(api, info, request)
        if refusal is not None:
            return refusal
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
            await self._disconnect(api, info, socket)
        return socket

    async def _connect(self, api: WebSocketApi, info: Connection, request: web.Request) -> web.Response | None:
        """Runs $connect: None lets the handshake go on, else the refusal to answer with."""
        connect = api.routes.get("$connect")
        if connect is None:
            return None
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
            "ws", "$connect", connect.function, status, ms_since(started), result, connectionId=info.connection_id
        )
        if not 200 <= status < 300:
            # The handshake fails with the function's status, as API Gateway's does.
            return web.Response(status=status)
        return None

    async def _disconnect(self, api: WebSocketApi, info: Connection, socket: web.WebSocketResponse) -> None:
        disconnect = api.routes.get("$disconnect")
        if disconnect is None:
            return
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
            ms_since(started),
            result,
            connectionId=info.connection_id,
        )

    async def _on_message(self, live: _LiveConnection, body: str, *, is_base64: bool) -> None:
        api = self.application.websocket
        assert api is not None
        started, request_id = time.perf_counter(), new_id()
        connection_id = live.info.connection_id
        route = None if is_base64 else select_websocket_route(api, body)
        if route is None and is_base64:
            route = api.routes.get("$default")
        if route is None:
            self.journal.record("ws", "(no route)", None, 403, ms_since(started), connectionId=connection_id)
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
            "ws", route.route_key, route.function, status, ms_since(started), result, connectionId=connection_id
        )
        if not result.ok:
            error = {"message": "Internal server error", "connectionId": connection_id, "requestId": request_id}
            await _send_quietly(live, json.dumps(error))
        elif route.two_way and isinstance(result.result, dict) and result.result.get("body") is not None:
            await _send_quietly(live, str(result.result["body"]))

    async def connections_api(self, request: web.Request) -> web.StreamResponse:
        """`/@connections/{connection_id}`: the Management API on the live connections."""
        started = time.perf_counter()
        connection_id = request.match_info["connection_id"]
        live = self._connections.get(connection_id)
        subject = f"{request.method} @connections/{connection_id}"
        if live is None or live.socket.closed:
            self.journal.record("mgmt", subject, None, 410, ms_since(started))
            return json_response(
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
            response = json_response(
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
            response = json_response(405, {"message": "Method Not Allowed"})
        self.journal.record("mgmt", subject, None, response.status, ms_since(started))
        return response


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
