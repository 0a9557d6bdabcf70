"""Logger, metrics and (when tracing is on) tracer: the one place handlers get them from.

Powertools' `Tracer()` imports aws-xray-sdk, which builds botocore clients and roughly doubles a
handler's cold import, even with tracing disabled. So the tracer is created lazily, and only when
tracing is actually on (in Lambda, not disabled by POWERTOOLS_TRACE_DISABLED).
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
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true", "yes"}
    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in os.environ and "AWS_SAM_LOCAL" not in os.environ
    return in_lambda and not disabled


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
