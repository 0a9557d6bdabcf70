"""`make deploy` wires each stack's outputs into the next one's parameters: every name it uses is a
real output or parameter of the templates, and every parameter a template requires is given."""

from __future__ import annotations

import tomllib
from typing import Any

import deploy
import pytest
from samtranslator.yaml_helper import yaml_parse

from payreq_local.template import ROOT, load_template

APP = load_template()
NETWORK = yaml_parse((ROOT / "infra" / "network-db.yaml").read_text())
EDGE = yaml_parse((ROOT / "infra" / "edge.yaml").read_text())
EXAMPLE = tomllib.loads((ROOT / "infra" / "dev.example.toml").read_text())


def required(template: dict[str, Any]) -> set[str]:
    return {name for name, parameter in template["Parameters"].items() if "Default" not in parameter}


@pytest.fixture
def environment() -> deploy.Environment:
    return deploy.Environment(name="dev", **EXAMPLE)


def test_the_example_settings_are_every_setting_of_an_environment() -> None:
    fields = set(deploy.Environment.__dataclass_fields__) - {"name"}

    assert set(EXAMPLE) == fields


def test_the_network_stack_gets_only_its_own_parameters_and_every_required_one(
    environment: deploy.Environment,
) -> None:
    given = set(environment.network_parameters())

    assert given <= set(NETWORK["Parameters"])
    assert required(NETWORK) <= given


def test_the_app_takes_real_network_outputs_and_gets_every_required_parameter(
    environment: deploy.Environment,
) -> None:
    # Given every output the network stack declares, as describe-stacks would return them
    network = {name: f"<{name}>" for name in NETWORK["Outputs"]}

    given = environment.app_parameters(network, edge_secret="e" * 43, test_login_token="t")

    assert set(deploy.APP_FROM_NETWORK) <= set(NETWORK["Outputs"])
    assert set(given) <= set(APP["Parameters"])
    assert required(APP) <= set(given)
    assert given["PublicBaseUrl"] == given["AllowedOrigins"] == f"https://{EXAMPLE['domain']}"


def test_the_edge_takes_real_app_outputs_and_gets_every_required_parameter(environment: deploy.Environment) -> None:
    app = {name: f"<{name}>" for name in APP["Outputs"]}

    given = environment.edge_parameters(app, edge_secret="e" * 43)

    assert set(deploy.EDGE_FROM_APP.values()) | {"WebSocketApiId"} <= set(APP["Outputs"])
    assert set(given) <= set(EDGE["Parameters"])
    assert required(EDGE) <= set(given)


def test_the_edge_secret_reaches_the_app_only_as_its_hash(environment: deploy.Environment) -> None:
    network = dict.fromkeys(NETWORK["Outputs"], "x")
    secret = "the-secret-cloudfront-sends-0123456789abcdef"

    app = environment.app_parameters(network, edge_secret=secret, test_login_token="")
    edge = environment.edge_parameters(dict.fromkeys(APP["Outputs"], "x"), edge_secret=secret)

    assert secret not in app.values() and len(app["EdgeSecretSha256"]) == 64
    assert edge["EdgeSecret"] == secret
    assert EDGE["Parameters"]["EdgeSecret"].get("NoEcho") is True


def test_sam_reads_the_overrides_as_given_blanks_included(environment: deploy.Environment) -> None:
    from samcli.cli.types import CfnParameterOverridesType

    # Given the app's parameters with test login off (a blank token must replace a previous one)
    network = {name: f"value-of-{name}" for name in NETWORK["Outputs"]}
    parameters = environment.app_parameters(network, edge_secret="e" * 43, test_login_token="")

    # When sam parses the words deploy.py passes it
    parsed = CfnParameterOverridesType().convert(tuple(deploy.parameter_overrides(parameters)), None, None)

    # Then it sees every parameter with its value, the blank ones blank
    assert parsed == parameters
    assert parsed["TestLoginToken"] == ""
