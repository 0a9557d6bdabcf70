"""Schemathesis against the merged OpenAPI document, through the local stack, in both ways a client
authenticates: a browser's session cookie with our pages' CSRF header, and a CLI's bearer API token.

Every operation gets valid and invalid (negative) examples. For each answer: no 5xx, the status and
body conform to the document, every 4xx is the error envelope, and invalid data is never accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from reliability.conftest import SOAK_FACTOR
from reliability.people import ENVELOPE_FIELDS

if TYPE_CHECKING:
    from reliability.conftest import Figures
    from reliability.people import People
    from support.local_stack import LocalStack

OPENAPI = Path(__file__).parents[2] / "openapi.json"
# Per operation, auth mode and generation mode: ~2 minutes for the whole default run on 2 cores.
EXAMPLES = 6 * SOAK_FACTOR
# Signing out would end the very session under test; it has its own tests (test_sessions_and_tokens).
LEFT_OUT = {("POST", "/auth/logout")}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

SCHEMA = schemathesis.openapi.from_path(OPENAPI)


@dataclass
class Tally:
    examples: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def count(self, status: int) -> None:
        self.examples += 1
        key = f"{status // 100}xx"
        self.by_status[key] = self.by_status.get(key, 0) + 1


def operations() -> list[Any]:
    found = []
    for result in SCHEMA.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # openapi.json is valid: make openapi-check
        if (operation.method.upper(), operation.path) not in LEFT_OUT:
            found.append(operation)
    return found


def exercise(operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str], tally: Tally) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        response = case.call(base_url=base_url, headers=headers, allow_redirects=False, timeout=60)
        tally.count(response.status_code)
        label = f"{operation.method.upper()} {operation.path} [{mode.value}] -> {response.status_code}"
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            titles = "; ".join(f"{failure.title}: {failure.message[:300]}" for failure in group.exceptions)
            tally.failures.append(f"{label}: {titles} | {response.content[:300]!r}")
            return
        if response.status_code >= 400:
            body = response.json() if response.content else None
            if not (isinstance(body, dict) and set(body) == {"error"} and set(body["error"]) == ENVELOPE_FIELDS):
                tally.failures.append(f"{label}: not the error envelope: {response.content[:200]!r}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # An operation with nothing to send (GET /api/v1/me) has no invalid variant.
        assert mode is GenerationMode.NEGATIVE, operation.path


@pytest.mark.parametrize("auth", ["session", "bearer"])
def test_every_operation_conforms_in_both_auth_modes(
    stack: LocalStack, people: People, figures: Figures, auth: str
) -> None:
    # Given a caller with every permission, authenticated as a browser or as a CLI
    caller = people.browser("fuzz") if auth == "session" else people.cli("fuzz")
    tally = Tally()
    chosen = operations()

    # When every operation gets valid and invalid examples
    for operation in chosen:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(operation, mode, stack.api_url, caller.headers, tally)

    # Then nothing failed a check
    figures.record(
        f"schemathesis ({auth})",
        operations=len(chosen),
        examples=tally.examples,
        **tally.by_status,
        failures=len(tally.failures),
    )
    assert not tally.failures, "\n".join(tally.failures[:30])


def test_sequences_along_the_links_schemathesis_infers_conform(
    stack: LocalStack, people: People, figures: Figures
) -> None:
    # Given the links Schemathesis infers between operations (an id one answer returns is the path
    # parameter of another: create a request, then read, edit, submit or cancel it...)
    caller = people.browser("stateful")
    tally = Tally()
    workflow = SCHEMA.as_state_machine()
    links = sum(1 for name in dir(workflow) if not name.startswith("_") and "__" in name)

    class Sequences(workflow):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": stack.api_url, "headers": caller.headers, "allow_redirects": False, "timeout": 60}

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            tally.count(response.status_code)
            label = f"{case.method.upper()} {case.path} -> {response.status_code}"
            try:
                case.validate_response(response, checks=CHECKS[:-1], headers=caller.headers)
            except FailureGroup as group:
                titles = "; ".join(f"{failure.title}: {failure.message[:300]}" for failure in group.exceptions)
                tally.failures.append(f"{label}: {titles} | {response.content[:300]!r}")

    # When sequences of calls follow them with valid data
    Sequences.run(
        settings=hypothesis.settings(
            max_examples=10 * SOAK_FACTOR,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )

    # Then every answer along the way conformed
    figures.record(
        "schemathesis stateful (session)",
        links=links,
        calls=tally.examples,
        **tally.by_status,
        failures=len(tally.failures),
    )
    assert not tally.failures, "\n".join(tally.failures[:30])
