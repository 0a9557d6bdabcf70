"""A measured process: `python -m bench.child <cold|snapstart|serve|contend> <spec.json> <result.json>`.

Cold: import one handler and serve one request, as a fresh Lambda container does, then exit at
once (`os._exit`: teardown is not part of a cold start). SnapStart: import, run the before-snapshot
hooks, then fork (the snapshot) and in the child (the restored environment) run the after-restore
hooks and serve the first request, then the same request again, warm. Serve: a warm container
that runs blocks of invocations when the orchestrator asks (one JSON line per block on stdin, one
answer per block), so that targets can be interleaved. Results go to a file or to the inherited
stdout descriptor, because handlers log to stdout as they do in Lambda.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import importlib  # noqa: E402  (the clock starts before anything else is imported)
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


class Context:
    """The fields of Lambda's context object that Powertools reads. (Not the tests' FakeLambdaContext:
    it would load Powertools into every measured process, the raw-driver floor's included.)"""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def status_of(response: Any) -> int:
    if isinstance(response, dict) and "statusCode" in response:
        return int(response["statusCode"])
    return 200  # the authorizer and the queue consumers answer in their own shapes


def cold(spec: dict[str, Any]) -> dict[str, Any]:
    handler = importlib.import_module(spec["module"]).lambda_handler
    imported = time.perf_counter()
    response = handler(spec["event"], Context())
    answered = time.perf_counter()
    return {
        "import_s": imported - STARTED,
        "first_request_s": answered - imported,
        "in_process_s": answered - STARTED,
        "status": status_of(response),
    }


def snapstart(spec: dict[str, Any]) -> dict[str, Any]:
    """Init, snapshot (fork), restore, first response; then the warm median of the same request,
    and what a new database connection costs in the same process (see `_new_connection`)."""
    module = importlib.import_module(spec["module"])
    handler = module.lambda_handler
    hooks = sys.modules.get("payreq.snapstart")
    if hooks is not None:
        hooks.run_before_snapshot()
    initialised = time.perf_counter()
    reading, writing = os.pipe()
    forked = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the restored environment
        resumed = time.perf_counter()  # the same monotonic clock as the parent's
        os.close(reading)
        if hooks is not None:
            hooks.run_after_restore()
        else:
            # The peer's restore: its pooled connection belongs to the snapshot (SQLAlchemy's fork recipe).
            module.engine.dispose(close=False)
        restored = time.perf_counter()
        response = handler(spec["event"], Context())
        answered = time.perf_counter()
        warm_ns = [_timed_ns(handler, spec["event"]) for _ in range(spec.get("warm", 0))]
        result = {
            "init_s": initialised - STARTED,
            "fork_s": resumed - forked,
            "restore_hooks_s": restored - resumed,
            "restore_to_response_s": answered - forked,
            "status": status_of(response),
            "warm_ns": warm_ns,
            **(_new_connection(handler, spec["event"], module, hooks) if spec.get("warm") else {}),
        }
        os.write(writing, json.dumps(result).encode())
        sys.stdout.flush()
        os._exit(0)
    os.close(writing)
    chunks = []
    while chunk := os.read(reading, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return dict(json.loads(b"".join(chunks)))


def _timed_ns(handler: Any, event: dict[str, Any]) -> int:
    started = time.perf_counter_ns()
    handler(event, Context())
    return time.perf_counter_ns() - started


def _new_connection(handler: Any, event: dict[str, Any], module: Any, hooks: Any) -> dict[str, Any]:
    """What no emulation here makes cheap, measured in the same warm process with the same settings:
    opening a connection (IAM token, TCP, startup; the local server forks a new backend for it), and
    the same request served on a new connection (the new backend's first queries load its catalog
    caches, where RDS Proxy would lend an environment a backend that already ran them)."""
    if hooks is not None:
        from payreq.db.engine import get_engine

        engine = get_engine()
    else:
        engine = module.engine
    engine.dispose()
    request_ns = _timed_ns(handler, event)
    engine.dispose()
    started = time.perf_counter_ns()
    engine.raw_connection().close()
    connect_ns = time.perf_counter_ns() - started
    return {"new_connection_request_ns": request_ns, "connect_ns": connect_ns}


def serve(spec: dict[str, Any]) -> None:
    """Blocks on request: `{"endpoint", "start", "count"}` runs events[start:start+count] of that
    endpoint and answers `{"ns": [...], "statuses": {...}, "statements": n}`."""
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what the handlers print goes to the log, not into the answers
    statements = _statement_counter()
    handler = importlib.import_module(spec["module"]).lambda_handler
    channel.write("{}\n")
    channel.flush()
    for line in sys.stdin:
        order = json.loads(line)
        events = spec["endpoints"][order["endpoint"]][order["start"] : order["start"] + order["count"]]
        statements[0] = 0
        answer = {**_block(handler, events), "statements": statements[0]}
        channel.write(json.dumps(answer) + "\n")
        channel.flush()


def _block(handler: Any, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Invoke `handler` with each event: the time of each, the statuses, the first refusal's body."""
    timings: list[int] = []
    statuses: dict[int, int] = {}
    refused = None
    for item in events:
        started = time.perf_counter_ns()
        response = handler(item, Context())
        timings.append(time.perf_counter_ns() - started)
        status = status_of(response)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 300 and refused is None:
            refused = str(response.get("body", ""))[:500]
    return {"ns": timings, "statuses": statuses, "refused": refused}


def _statement_counter() -> list[int]:
    """A one-item list that counts the SQL statements any engine in this process runs."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    return statements


def main() -> None:
    mode, spec_path, result_path = sys.argv[1:4]
    with open(spec_path) as stream:  # noqa: PTH123  (pathlib would be one more import to time)
        spec = json.load(stream)
    sys.path[:0] = spec.get("path", [])
    if mode == "serve":
        serve(spec)
        sys.stdout.flush()
        os._exit(0)
    if mode == "contend":
        from bench.contention import contend

        result = contend(spec)
    elif mode == "snapstart":
        result = snapstart(spec)
    else:
        result = cold(spec)
    with open(result_path, "w") as stream:  # noqa: PTH123
        json.dump(result, stream)
        stream.flush()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
