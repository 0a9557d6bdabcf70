"""The local stack allows its own origin, whatever port it got, so its demo page may write with
the session cookie, open the WebSocket and upload to the bucket."""

from __future__ import annotations

import argparse

import pytest

from payreq_local.__main__ import _run_arguments
from payreq_local.environment import (
    LOCAL_PARAMETERS,
    LocalEndpoints,
    browser_origin,
    function_environment,
    own_origins,
    with_own_origins,
)
from payreq_local.intrinsics import Resolver
from payreq_local.template import ROOT, load_template, read_application

ENDPOINTS = LocalEndpoints("postgresql://localhost/payreq", "http://s3", "http://sqs", "http://127.0.0.1:38573")


def allowed_origins(parameters: dict[str, object], function: str = "SyncWebSocketFunction") -> list[str]:
    template = load_template()
    resolver = Resolver(template, parameters)
    spec = read_application(template, resolver, ROOT).functions[function]
    return function_environment(spec, resolver, ENDPOINTS)["AUTH_ALLOWED_ORIGINS"].split(",")


def test_a_loopback_gateway_is_reachable_as_localhost_and_as_127_0_0_1() -> None:
    assert own_origins("127.0.0.1", 38573) == ["http://localhost:38573", "http://127.0.0.1:38573"]
    assert own_origins("0.0.0.0", 3000) == ["http://localhost:3000", "http://127.0.0.1:3000"]
    assert own_origins("payreq.test", 8080) == ["http://payreq.test:8080"]


def test_the_gateway_origins_join_the_templates_default() -> None:
    parameters = with_own_origins(load_template(), LOCAL_PARAMETERS, own_origins("127.0.0.1", 38573))

    assert allowed_origins(parameters) == [
        "http://localhost:3000",
        "http://localhost:38573",
        "http://127.0.0.1:38573",
    ]


def test_origins_given_on_the_command_line_stay_allowed() -> None:
    given = {**LOCAL_PARAMETERS, "AllowedOrigins": "https://app.example.com,http://localhost:3000"}

    parameters = with_own_origins(load_template(), given, own_origins("127.0.0.1", 3000))

    assert allowed_origins(parameters, "PrFunction") == [
        "https://app.example.com",
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    ]


def test_a_template_without_allowed_origins_is_left_alone() -> None:
    assert with_own_origins({"Parameters": {}}, {"Stage": "local"}, ["http://localhost:1"]) == {"Stage": "local"}


def test_a_frontends_dev_origin_joins_cors_the_csrf_check_and_the_websocket(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given one origin in the environment and one on the command line
    monkeypatch.setenv("PAYREQ_ALLOW_ORIGINS", "http://localhost:5173/")
    args = _run_arguments(["--allow-origin", "http://127.0.0.1:4200"])

    # When the stack allows its own origins and those
    parameters = with_own_origins(
        load_template(), LOCAL_PARAMETERS, [*own_origins("127.0.0.1", 3000), *args.allow_origins]
    )

    # Then both are allowed by CORS and by every function's Origin checks
    for function in ("PrFunction", "SyncWebSocketFunction"):
        assert {"http://localhost:5173", "http://127.0.0.1:4200"} <= set(allowed_origins(parameters, function))
    template = load_template()
    cors = read_application(template, Resolver(template, parameters), ROOT).cors
    assert cors is not None and {"http://localhost:5173", "http://127.0.0.1:4200"} <= set(cors.allow_origins)


@pytest.mark.parametrize("value", ["localhost:5173", "http://localhost:5173/app", "ftp://x"])
def test_what_is_not_an_origin_is_refused(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not an origin"):
        browser_origin(value)
