"""Inside a worker: a minimal Lambda runtime for one function (`python -m payreq_local.runtime`).

A worker is one warm "container": it imports the handler once (the cold start, with the function's
environment already in place) and then runs one invocation at a time, as Lambda does. Powertools
resolvers keep the current event in class attributes, so one invocation at a time per process is
not only faithful but required.

Protocol with the gateway (workers.py), one JSON document per line:
- stdin, gateway -> worker: {"type": "invoke", "id", "event", "requestId", "deadlineMs"} or {"type": "openapi", "id"}
- fd 1 as inherited, worker -> gateway: {"type": "ready", "initMs"} | {"type": "init_error", "error"} then
  one {"type": "result", "id", "ok", "result" | "error", "durationMs"} per request.
Everything the function prints or logs goes to stderr (fd 1 is re-pointed there), which the gateway
prefixes with the function name. The worker exits when stdin closes, so it dies with the gateway.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import IO, Any

from payreq_local import iam, snapstart


class LambdaContext:
    """What the Python Lambda runtime passes as `context` (same attribute names and types)."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = f"local/[$LATEST]{os.getpid():08x}"
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stderr.write(message)


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    try:
        text = json.dumps(message)
    except (TypeError, ValueError) as error:  # the result is not JSON: Lambda's Runtime.MarshalError
        text = json.dumps({**message, "ok": False, "result": None, "error": _error(error, "Runtime.MarshalError")})
    channel.write(text + "\n")
    channel.flush()


def _handle(request: dict[str, Any], module: Any, handler: Any) -> dict[str, Any]:
    started = time.perf_counter()
    reply: dict[str, Any] = {"type": "result", "id": request["id"]}
    try:
        if request["type"] == "openapi":
            # The function's resolver (`<pkg>.handler.app`) documents its own routes.
            app: Any = getattr(module, "app", None)
            documented = hasattr(app, "get_openapi_json_schema")
            schema = json.loads(app.get_openapi_json_schema()) if documented else None
            if schema is not None:
                from payreq_local.openapi import mark_permissions

                mark_permissions(app, schema)
            reply.update(ok=True, result=schema)
        else:
            context = LambdaContext(request["requestId"], request["deadlineMs"])
            reply.update(ok=True, result=handler(request["event"], context))
    except Exception as error:
        # Lambda writes the failure to the function's log too.
        sys.stderr.write(f"[ERROR] {type(error).__name__}: {error}\n{''.join(traceback.format_exception(error))}")
        reply.update(ok=False, error=_error(error))
    reply["durationMs"] = round((time.perf_counter() - started) * 1000, 2)
    return reply


def main() -> int:
    # Ctrl-C belongs to the gateway, which stops workers itself (closing their stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    # Before the handler's clients exist, so that each inherits the role's judgement.
    iam.install_from_environment()
    handler_path = os.environ["_HANDLER"]
    module_name, _, attribute = handler_path.rpartition(".")
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, attribute)
    except Exception as error:  # what Lambda reports as Runtime.ImportModuleError / HandlerNotFound
        kind = "Runtime.HandlerNotFound" if isinstance(error, AttributeError) else "Runtime.ImportModuleError"
        traceback.print_exc()
        _send(channel, {"type": "init_error", "error": _error(error, kind)})
        return 1
    init_ms = round((time.perf_counter() - started) * 1000, 1)
    restore_ms = snapstart.snapshot_and_restore()
    _send(channel, {"type": "ready", "initMs": init_ms, "restoreMs": restore_ms})

    for line in sys.stdin.buffer:
        request = json.loads(line)
        _send(channel, _handle(request, module, handler))
    return 0


if __name__ == "__main__":
    sys.exit(main())
