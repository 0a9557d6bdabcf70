"""The local API Gateway: one aiohttp server on one port, composed of

- the HTTP API (http_api.py): every path no other entry claims; routes from template.yaml, the
  Lambda authorizer (authorizer.py), CORS, and the demo page at `/` and `/demo/*`;
- the WebSocket API and `@connections` (websocket_api.py): `/ws` and `/@connections/{id}`;
- the local extras below: `/docs`, `/openapi.json` (Swagger UI and the merged OpenAPI document of
  every function), `POST /_local/schedules/<Function>` (run the function's `Type: Schedule` event
  now), `/_local/invocations` (the recent invocations: function, trigger, route, status, duration,
  for tests and curious developers) and `/_local/processes`;
- the invocations of the other event sources (S3, SQS, schedules), which their pollers call.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from payreq_local.events import new_id
from payreq_local.http_api import MAX_BODY_BYTES, HttpApi, json_response
from payreq_local.journal import Journal, ms_since
from payreq_local.websocket_api import WEBSOCKET_PATH, WebSocketGateway

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from payreq_local.schedules import ScheduleRunner
    from payreq_local.template import Application, S3Trigger, ScheduleTrigger, SqsTrigger
    from payreq_local.workers import InvocationResult, Workers

__all__ = ["WEBSOCKET_PATH", "Gateway", "Journal"]

_SWAGGER_ASSETS = ("swagger-ui-bundle.min.js", "swagger-ui.min.css")


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
        self.http = HttpApi(application, workers, self.journal)
        self.websocket = WebSocketGateway(application, workers, self.journal)
        self._openapi_source = openapi
        self._processes = processes or dict
        self._openapi: asyncio.Task[dict[str, Any]] | None = None
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
        app.router.add_route("*", "/@connections/{connection_id}", self.websocket.connections_api)
        app.router.add_get(WEBSOCKET_PATH, self.websocket.handle)
        # [\s\S]: a path with an encoded newline is still the API's to answer (`.` stops at one).
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.http.handle)
        return app

    async def close(self) -> None:
        """Close every WebSocket (each runs its $disconnect), then wait for in-flight work."""
        await self.websocket.close()

    # ------------------------------------------------------------------------ local extras

    async def _invocations(self, request: web.Request) -> web.Response:
        query = request.query
        entries = self.journal.query(
            function=query.get("function"), source=query.get("source"), since=int(query.get("since", "0"))
        )
        return json_response(200, {"items": entries})

    async def _run_schedule(self, request: web.Request) -> web.Response:
        function = request.match_info["function"]
        results = await self.schedules.run_now(function) if self.schedules is not None else []
        if not results:
            return json_response(404, {"error": f"{function} has no schedule"})
        return json_response(
            200 if all(result.ok for result in results) else 502,
            {"results": [result.result if result.ok else None for result in results]},
        )

    async def _process_list(self, request: web.Request) -> web.Response:
        # Every process the stack runs, so a test can check that Ctrl-C leaves none behind.
        workers = {name: pool.pids for name, pool in self.workers.pools.items() if pool.pids}
        return json_response(200, {"gateway": os.getpid(), **self._processes(), "workers": workers})

    async def openapi_document(self) -> dict[str, Any]:
        # Built once, on first use: it asks each HTTP function's warm worker for its resolver's schema.
        if self._openapi is None or (self._openapi.done() and self._openapi.exception() is not None):
            self._openapi = asyncio.ensure_future(self._openapi_source())
        return await asyncio.shield(self._openapi)

    async def _openapi_json(self, request: web.Request) -> web.Response:
        return json_response(200, await self.openapi_document())

    async def _docs(self, request: web.Request) -> web.Response:
        document = await self.openapi_document()
        if request.query.get("format") == "json":
            return json_response(200, document)
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

        spec = json.dumps(document).replace("</", "<\\/")
        html = generate_swagger_html(spec, "/docs/swagger-ui-bundle.min.js", "/docs/swagger-ui.min.css", "/docs", None)
        return web.Response(text=html, content_type="text/html")

    async def _docs_asset(self, request: web.Request) -> web.StreamResponse:
        asset = request.match_info["asset"]
        if asset not in _SWAGGER_ASSETS:
            return json_response(404, {"message": "Not Found"})
        import aws_lambda_powertools.event_handler as event_handler

        return web.FileResponse(Path(event_handler.__file__).parent / "openapi" / "swagger_ui" / asset)

    # ------------------------------------------------------------------ other event sources

    async def invoke_sqs(self, trigger: SqsTrigger, event: dict[str, Any]) -> InvocationResult:
        """A batch from an SQS event source (called by the queue poller)."""
        started, request_id = time.perf_counter(), new_id()
        result = await self.workers[trigger.function].invoke(event, request_id)
        subject = f"{trigger.queue} ({len(event['Records'])} message{'s' if len(event['Records']) != 1 else ''})"
        self.journal.record("sqs", subject, trigger.function, "ok" if result.ok else "error", ms_since(started), result)
        return result

    async def invoke_schedule(self, trigger: ScheduleTrigger, event: dict[str, Any]) -> InvocationResult:
        """A scheduled event (called by the schedule runner)."""
        started, request_id = time.perf_counter(), new_id()
        result = await self.workers[trigger.function].invoke(event, request_id)
        subject = f"{trigger.event} ({trigger.schedule})"
        self.journal.record(
            "schedule", subject, trigger.function, "ok" if result.ok else "error", ms_since(started), result
        )
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
            ms_since(started),
            result,
            key=event["Records"][0]["s3"]["object"]["key"],
            response=result.result if result.ok else None,
        )
        return result
