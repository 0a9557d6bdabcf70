"""Logger, metrics and (when the X-Ray SDK is asked for) tracer: the one place handlers get them from.

Tracing has two levels. The template turns on Lambda's active tracing for every function: Lambda
itself records each invocation's init, invoke and overhead segments, at no cost to the function's
own start. The X-Ray SDK in the function (Powertools' `Tracer`, subsegments per call, patched
botocore) is off unless the stack's `TracingSdk` parameter sets `PAYREQ_TRACING_SDK=true`: it
imports aws-xray-sdk and botocore, which took a cold start from ~0.45 s to ~0.7-1.0 s, paid twice
by every API call that cold-starts (the authorizer, then the route's function); `bench/cold.py`
measures both (`python -m bench --only cold`). Even then, the tracer is created lazily and only in
Lambda (not under SAM local, not when POWERTOOLS_TRACE_DISABLED is set).
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from payreq.log_redaction import RedactDatabaseErrors

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "payreq")

# Most invocations publish no application metric (the cold-start metric is enough); Powertools
# would warn about that on every one of them, burying real warnings in the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger(service=SERVICE, utc=True)
logger.addFilter(RedactDatabaseErrors())
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Payreq"))

Handler = TypeVar("Handler", bound="Callable[..., Any]")


def tracing_enabled() -> bool:
    """Whether this function traces itself with the X-Ray SDK (beyond Lambda's own segments)."""
    asked = os.environ.get("PAYREQ_TRACING_SDK", "").lower() in {"1", "true", "yes"}
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true", "yes"}
    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_SAM_LOCAL" not in os.environ
    return asked and in_lambda and not disabled


@cache
def tracer() -> Tracer | None:
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def instrument(*, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """The decorator stack every Lambda entry point wears: structured logs with the correlation id,
    EMF metrics flushed per invocation, and X-Ray when tracing is on."""

    def decorate(handler: Handler) -> Handler:
        wrapped: Any = metrics.log_metrics(handler)
        active_tracer = tracer()
        if active_tracer is not None:
            wrapped = active_tracer.capture_lambda_handler(wrapped)
        wrapped = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate
