from __future__ import annotations

import time
import uuid

from aws_lambda_powertools.utilities.typing import LambdaContext


class FakeLambdaContext(LambdaContext):
    """What the Lambda runtime passes as `context`, with the fields Powertools reads filled in."""

    def __init__(self, function_name: str = "payreq-test", *, time_limit_ms: int = 15_000) -> None:
        # The clock starts at construction, as Lambda's starts when the invocation does.
        self._deadline = time.monotonic() + time_limit_ms / 1000
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self._memory_limit_in_mb = 512
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = "2026/11/22/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # a static method upstream
        return max(0, round((self._deadline - time.monotonic()) * 1000))
