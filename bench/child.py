"""A measured process: `python -m bench.child <cold|warm|contend> <spec.json> <result.json>`.

Cold: import one handler and serve one request, as a fresh Lambda container does, then exit at
once (`os._exit`: teardown is not part of a cold start). Warm: import once, then invoke each
endpoint many times in this process, timing every invocation and counting its SQL statements.
The results go to a file, because handlers log to stdout as they do in Lambda.
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


def warm(spec: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    handler = importlib.import_module(spec["module"]).lambda_handler
    results: dict[str, Any] = {}
    for name, events in spec["endpoints"].items():
        warmup, measured = events[: spec["warmup"]], events[spec["warmup"] :]
        for item in warmup:
            handler(item, Context())
        timings: list[int] = []
        statuses: dict[int, int] = {}
        statements[0] = 0
        for item in measured:
            started = time.perf_counter_ns()
            response = handler(item, Context())
            timings.append(time.perf_counter_ns() - started)
            status = status_of(response)
            statuses[status] = statuses.get(status, 0) + 1
        results[name] = {"ns": timings, "statuses": statuses, "statements": statements[0] / max(1, len(measured))}
    return results


def main() -> None:
    mode, spec_path, result_path = sys.argv[1:4]
    with open(spec_path) as stream:  # noqa: PTH123  (pathlib would be one more import to time)
        spec = json.load(stream)
    sys.path[:0] = spec.get("path", [])
    if mode == "contend":
        from bench.contention import contend

        result = contend(spec)
    else:
        result = cold(spec) if mode == "cold" else warm(spec)
    with open(result_path, "w") as stream:  # noqa: PTH123
        json.dump(result, stream)
        stream.flush()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
