"""Warm "containers": worker processes that run one function's handler, one invocation at a time.

Each function gets a pool. An invocation takes an idle worker (the most recently used, as Lambda
reuses warm containers), or starts a new one up to `max_workers` (a cold start: a fresh process
importing the handler with that function's environment), or waits for one to come free. A worker
that times out is killed, as Lambda ends a timed-out sandbox. Workers run in their own session so
Ctrl-C reaches only the gateway, and they exit when their stdin closes, so they never outlive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from payreq_local.template import FunctionSpec

    LogSink = Callable[[str, str], None]

# Lambda accepts 6 MB payloads; base64 and JSON escaping can grow that, so leave generous room.
_LINE_LIMIT = 64 * 1024 * 1024
_STOP_GRACE_SECONDS = 2.0


class InitError(Exception):
    """The handler could not be imported (Lambda: Runtime.ImportModuleError / HandlerNotFound)."""

    def __init__(self, function: str, error: Mapping[str, Any]) -> None:
        self.error = dict(error)
        super().__init__(f"{function}: {error.get('errorType')}: {error.get('errorMessage')}")


@dataclass(frozen=True)
class InvocationResult:
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    cold_start_ms: float | None = None  # set when this invocation started its worker


class Worker:
    _ids = itertools.count(1)

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str], log: LogSink) -> None:
        self.spec = spec
        self.environment = dict(environment)
        self.log = log
        self.id = next(self._ids)
        self.init_ms = 0.0
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> float:
        """Start the process and wait for its handler import; the wall time it took (ms)."""
        started = time.perf_counter()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "payreq_local.runtime",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.environment,
            cwd=self.spec.code_dir,
            start_new_session=True,
            limit=_LINE_LIMIT,
        )
        self._stderr_task = asyncio.create_task(self._forward_logs())
        message = await self._read()
        if message.get("type") != "ready":
            await self.stop()
            raise InitError(self.spec.name, message.get("error") or {"errorType": "Runtime.ExitError"})
        self.init_ms = float(message.get("initMs", 0.0))
        return (time.perf_counter() - started) * 1000

    async def call(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its reply; kills the worker when `timeout` passes."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")
        try:
            await self._process.stdin.drain()
            return await asyncio.wait_for(self._read(), timeout)
        except TimeoutError:
            await self.kill()
            raise
        except (ConnectionError, BrokenPipeError):
            return {"ok": False, "error": {"errorType": "Runtime.ExitError", "errorMessage": "the worker exited"}}

    async def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            await self._process.wait()
            return {
                "type": "exit",
                "ok": False,
                "error": {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"worker exited with status {self._process.returncode}",
                },
            }
        return json.loads(line)  # type: ignore[no-any-return]

    async def _forward_logs(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            self.log(self.spec.name, line.decode(errors="replace").rstrip("\n"))

    async def stop(self) -> None:
        """Close stdin (the worker's signal to exit), then kill it if it lingers."""
        if self._process is None:
            return
        if self._process.returncode is None and self._process.stdin is not None:
            self._process.stdin.close()
            try:
                await asyncio.wait_for(self._process.wait(), _STOP_GRACE_SECONDS)
            except TimeoutError:
                await self.kill()
        await self._drain_logs()

    async def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        await self._drain_logs()

    async def _drain_logs(self) -> None:
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._stderr_task, 1.0)


class FunctionPool:
    """The warm workers of one function."""

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str], log: LogSink, max_workers: int = 4) -> None:
        self.spec = spec
        self.environment = dict(environment)
        self.log = log
        self.max_workers = max_workers
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._live = 0  # running or starting
        self._changed = asyncio.Condition()
        self._requests = itertools.count(1)
        self._closed = False

    @property
    def pids(self) -> list[int]:
        return sorted(worker.pid for worker in self._all if worker.pid is not None and worker.alive)

    async def warm(self) -> float:
        """Make sure one worker is up (raises InitError for a broken handler); its cold start in ms."""
        if self._idle:
            return 0.0
        worker, cold_ms = await self._acquire()
        await self._release(worker)
        return cold_ms or 0.0

    async def invoke(self, event: Any, request_id: str) -> InvocationResult:
        try:
            worker, cold_ms = await self._acquire()
        except InitError as error:
            return InvocationResult(ok=False, error=error.error)
        timeout = float(self.spec.timeout_seconds)
        message = {
            "type": "invoke",
            "id": next(self._requests),
            "event": event,
            "requestId": request_id,
            "deadlineMs": int((time.time() + timeout) * 1000),
        }
        try:
            reply = await worker.call(message, timeout)
        except TimeoutError:
            reply = {
                "ok": False,
                "durationMs": timeout * 1000,
                "error": {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                },
            }
        finally:
            await self._release(worker)
        return InvocationResult(
            ok=bool(reply.get("ok")),
            result=reply.get("result"),
            error=reply.get("error"),
            duration_ms=float(reply.get("durationMs", 0.0)),
            cold_start_ms=cold_ms,
        )

    async def openapi(self) -> dict[str, Any] | None:
        """The OpenAPI document of the function's resolver, or None when the handler has none."""
        worker, _ = await self._acquire()
        try:
            reply = await worker.call({"type": "openapi", "id": next(self._requests)}, 60.0)
        finally:
            await self._release(worker)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise RuntimeError(
                f"{self.spec.name}: OpenAPI failed: {error.get('errorType')}: {error.get('errorMessage')}"
            )
        return reply.get("result")

    async def _acquire(self) -> tuple[Worker, float | None]:
        async with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.spec.name}: the local stack is stopping")
                if self._idle:
                    return self._idle.pop(), None
                if self._live < self.max_workers:
                    self._live += 1
                    break
                await self._changed.wait()
        worker = Worker(self.spec, self.environment, self.log)
        self._all.add(worker)
        try:
            cold_ms = await worker.start()
        except BaseException:
            self._all.discard(worker)
            async with self._changed:
                self._live -= 1
                self._changed.notify()
            raise
        return worker, cold_ms

    async def _release(self, worker: Worker) -> None:
        async with self._changed:
            if worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._live -= 1
                self._all.discard(worker)
                if worker.alive:
                    await worker.stop()
            self._changed.notify()

    async def close(self) -> None:
        """Stop every worker, busy ones too (their invocation then fails, as the stack is stopping)."""
        async with self._changed:
            self._closed = True
            self._idle = []
            workers, self._all = list(self._all), set()
            self._changed.notify_all()
        await asyncio.gather(*(worker.stop() for worker in workers))


class Workers:
    """Every function's pool."""

    def __init__(self, pools: Mapping[str, FunctionPool]) -> None:
        self.pools = dict(pools)

    def __getitem__(self, function: str) -> FunctionPool:
        return self.pools[function]

    async def warm(self, functions: list[str] | None = None) -> dict[str, float]:
        """Start one worker per function, concurrently; their cold starts in ms (InitError if broken)."""
        names = functions if functions is not None else list(self.pools)
        timings = await asyncio.gather(*(self.pools[name].warm() for name in names))
        return dict(zip(names, timings, strict=True))

    async def close(self) -> None:
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))
