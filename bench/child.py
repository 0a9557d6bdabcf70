"""A measured process: `python -m bench.child <cold|snapstart|serve|contend> <spec.json> <result.json>`.

Cold: import one handler and serve one request, as a fresh Lambda container does, then exit at
once (`os._exit`: teardown is not part of a cold start). SnapStart: import, run the before-snapshot
hooks, then fork (the snapshot) and in the child (the restored environment) run the after-restore
hooks and serve the first request, then the same request again, warm (see `snapstart`). Serve: a warm container
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
    and what a new database connection costs in the same process (see `_new_connection`).

    After the fork the parent is the environment Lambda initialised to take the snapshot, which it
    then discards: its connections close, and the proxy (`spec["pooler_port"]`, the bench's RDS
    Proxy) resets their backends and pools them, warm. The restored copy resumes only then, as a
    restore comes long after the snapshot; "restore" starts at that resume (the fork is timed apart)."""
    module = importlib.import_module(spec["module"])
    handler = module.lambda_handler
    hooks = sys.modules.get("payreq.snapstart")
    if hooks is not None:
        hooks.run_before_snapshot()
    initialised = time.perf_counter()
    reading, writing = os.pipe()
    waiting, going = os.pipe()
    forked = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the restored environment
        in_child = time.perf_counter()  # the same monotonic clock as the parent's
        os.close(reading)
        os.close(going)
        os.read(waiting, 1)  # until the snapshot's environment is gone
        resumed = time.perf_counter()
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
            "fork_s": in_child - forked,
            "restore_hooks_s": restored - resumed,
            "first_request_s": answered - restored,
            "restore_to_response_s": answered - resumed,
            "fork_to_response_s": (in_child - forked) + (answered - resumed),
            "status": status_of(response),
            "warm_ns": warm_ns,
            **(_new_connection(handler, spec, module, hooks) if spec.get("warm") else {}),
        }
        os.write(writing, json.dumps(result).encode())
        sys.stdout.flush()
        os._exit(0)
    os.close(writing)
    os.close(waiting)
    if spec.get("pooler_port"):
        _close_and_wait(spec["pooler_port"])
    os.write(going, b"1")
    os.close(going)
    chunks = []
    while chunk := os.read(reading, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return dict(json.loads(b"".join(chunks)))


def _close_and_wait(port: int) -> None:
    """Close this process's connections to the proxy on 127.0.0.1:`port`, as an environment that
    goes away does (no Terminate: its sockets just close), and wait until the proxy has closed its
    side: it does so once their backends are reset and pooled again. Any driver, any pool: found
    among the process's open sockets. A forked copy's descriptors share these sockets: they are
    closed for it too, as a restored environment's are."""
    import socket
    from pathlib import Path  # here, not at the top: the measured imports come first

    for descriptor in Path("/proc/self/fd").iterdir():
        try:
            if not str(descriptor.readlink()).startswith("socket:"):
                continue
            connection = socket.socket(fileno=os.dup(int(descriptor.name)))
        except OSError:
            continue  # the descriptor the listing itself used, or one closed since
        with connection:
            try:
                if connection.family != socket.AF_INET or connection.getpeername() != ("127.0.0.1", port):
                    continue
            except OSError:
                continue  # closed by the proxy already (one this function has dropped)
            connection.shutdown(socket.SHUT_WR)
            connection.settimeout(10)
            while connection.recv(65536):
                pass


def _timed_ns(handler: Any, event: dict[str, Any]) -> int:
    started = time.perf_counter_ns()
    handler(event, Context())
    return time.perf_counter_ns() - started


def _new_connection(handler: Any, spec: dict[str, Any], module: Any, hooks: Any) -> dict[str, Any]:
    """What a new database connection costs, measured in the same warm process with the same
    settings: opening one (IAM token, TCP, the startup; through the proxy, which lends a pooled
    backend; without it, the local server forks a new backend), and the same request served on a
    new connection (on a lent backend its caches are warm; on a new backend its first queries load
    them)."""
    if hooks is not None:
        from payreq.db.engine import get_engine

        engine = get_engine()
    else:
        engine = module.engine
    event = spec["event"]
    _drop_connections(engine, spec.get("pooler_port"))
    request_ns = _timed_ns(handler, event)
    _drop_connections(engine, spec.get("pooler_port"))
    started = time.perf_counter_ns()
    engine.raw_connection().close()
    connect_ns = time.perf_counter_ns() - started
    return {"new_connection_request_ns": request_ns, "connect_ns": connect_ns}


def _drop_connections(engine: Any, pooler_port: int | None) -> None:
    """Close the engine's connections; through the proxy, only once their backends are pooled
    again (a client long gone, as in a deploy, not one that left a moment ago)."""
    if pooler_port:
        _close_and_wait(pooler_port)
        engine.dispose(close=False)
    else:
        engine.dispose()


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
    """Invoke `handler` with each event: the time of each, the statuses, the first refusal's body,
    and how many items the last list answered with (None for anything else)."""
    timings: list[int] = []
    statuses: dict[int, int] = {}
    refused = None
    response: Any = None
    for item in events:
        started = time.perf_counter_ns()
        response = handler(item, Context())
        timings.append(time.perf_counter_ns() - started)
        status = status_of(response)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 300 and refused is None:
            refused = str(response.get("body", ""))[:500]
    return {"ns": timings, "statuses": statuses, "refused": refused, "items": _items_of(response)}


def _items_of(response: Any) -> int | None:
    """A list's page size as the client got it: compared across targets, so that none is timed on a
    shorter page than the others."""
    try:
        items = json.loads(response["body"])["items"]
    except (TypeError, KeyError, ValueError):
        return None
    return len(items) if isinstance(items, list) else None


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
