"""The X-Ray SDK runs inside a function only when the stack asks for it (TracingSdk): Lambda's own
active tracing needs nothing in the function, and the SDK costs every cold start."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from payreq import observability

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def in_lambda(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "payreq-dev-PrFunction")
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    observability.tracer.cache_clear()
    yield monkeypatch
    observability.tracer.cache_clear()


def test_a_deployed_function_builds_no_tracer_by_default(in_lambda: pytest.MonkeyPatch) -> None:
    in_lambda.delenv("PAYREQ_TRACING_SDK", raising=False)

    assert observability.tracer() is None


def test_the_stack_parameter_turns_the_sdk_on(in_lambda: pytest.MonkeyPatch) -> None:
    in_lambda.setenv("PAYREQ_TRACING_SDK", "true")

    assert observability.tracing_enabled()


def test_the_sdk_stays_off_under_sam_local_even_when_asked(in_lambda: pytest.MonkeyPatch) -> None:
    in_lambda.setenv("PAYREQ_TRACING_SDK", "true")
    in_lambda.setenv("AWS_SAM_LOCAL", "true")

    assert not observability.tracing_enabled()
