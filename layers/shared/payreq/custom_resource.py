"""CloudFormation's custom-resource protocol: one answer per request, always, before the deadline.

A custom resource that never answers holds its stack for the resource's `ServiceTimeout` (an hour
by default); one that answers twice, or after Lambda stopped it, is no better. So the work runs in
a worker thread and the answer is sent from the handler's thread: SUCCESS or FAILED with the work's
outcome, or FAILED when the work is still running `margin` seconds before the function's deadline.
Work that overran is then abandoned by ending the process (see `end_the_process`).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from payreq.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext

Status = Literal["SUCCESS", "FAILED"]
# CloudFormation shows at most this much of a reason in the stack's events.
MAX_REASON = 1000
ANSWER_ATTEMPTS = 3
ANSWER_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Request:
    """The fields of a custom-resource event this code reads."""

    request_type: Literal["Create", "Update", "Delete"]
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        return cls(
            request_type=event["RequestType"],
            response_url=event["ResponseURL"],
            stack_id=event["StackId"],
            request_id=event["RequestId"],
            logical_resource_id=event["LogicalResourceId"],
            physical_resource_id=event.get("PhysicalResourceId"),
        )


@dataclass(frozen=True)
class Answer:
    status: Status
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


def end_the_process() -> None:
    """Abandon overrunning work for good: the process ends, its database connection closes with it,
    and a transaction that was not committed can never be (COMMIT only ever comes from this side).
    A thread left behind would instead be frozen with the sandbox and resumed by the next invoke."""
    logger.error("work still running at the deadline: ending the process")
    os._exit(1)


def answer_before_deadline(
    request: Request,
    context: LambdaContext,
    work: Callable[[], Answer],
    *,
    physical_resource_id: str,
    margin_seconds: float = 20.0,
    abandon: Callable[[], None] | None = None,
) -> Answer:
    """Run `work`, send CloudFormation its answer (or FAILED at the deadline), return what was sent.

    The margin leaves time for the answer itself (up to `margin_seconds`, a tenth of a short budget)."""
    remaining = context.get_remaining_time_in_millis() / 1000
    budget = remaining - min(margin_seconds, remaining / 10)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custom-resource")
    future = pool.submit(work)
    overran = False
    try:
        answer = future.result(timeout=max(budget, 0))
    except FutureTimeout:
        overran = True
        answer = Answer("FAILED", f"did not finish within {budget:.0f} s; nothing was committed, deploy again")
    except Exception as error:
        logger.exception("custom resource work failed", extra={"request_type": request.request_type})
        answer = Answer("FAILED", " ".join(str(error).split()) or type(error).__name__)
    finally:
        pool.shutdown(wait=False)
    send(request, context, answer, physical_resource_id=physical_resource_id)
    if overran:
        (abandon or end_the_process)()
    return answer


def send(request: Request, context: LambdaContext, answer: Answer, *, physical_resource_id: str) -> None:
    """PUT the answer to CloudFormation's pre-signed URL (no Content-Type: the signature has none).

    The URL is S3's: the function reaches it through NAT or the VPC's S3 gateway endpoint. Retried
    a few times, since a lost answer leaves the stack waiting for the whole `ServiceTimeout`."""
    body = {
        "Status": answer.status,
        "Reason": (answer.reason or f"see CloudWatch Logs: {context.log_group_name} {context.log_stream_name}")[
            :MAX_REASON
        ],
        # The same id on every answer: a different one would make CloudFormation replace the resource.
        "PhysicalResourceId": request.physical_resource_id or physical_resource_id,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "NoEcho": False,
        "Data": dict(answer.data),
    }
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "", "Content-Length": str(len(payload))}
    for attempt in range(1, ANSWER_ATTEMPTS + 1):
        http_request = urllib.request.Request(request.response_url, data=payload, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(http_request, timeout=ANSWER_TIMEOUT_SECONDS) as response:
                response.read()
        except (urllib.error.URLError, TimeoutError) as error:
            logger.warning("answer to CloudFormation not delivered", extra={"attempt": attempt, "error": str(error)})
            if attempt == ANSWER_ATTEMPTS:
                raise
            time.sleep(attempt)
        else:
            logger.info("answered CloudFormation", extra={"status": answer.status, "reason": body["Reason"]})
            return
