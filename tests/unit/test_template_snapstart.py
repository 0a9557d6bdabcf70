"""template.yaml: every Python function is published behind an alias and resumed from a SnapStart
snapshot, everything that invokes one goes through the alias, and the X-Ray SDK is opt-in."""

from __future__ import annotations

from typing import Any

from payreq_local.template import load_template

# Invoked once per deploy through $LATEST by its custom resource: a snapshot would only slow deploys.
NOT_SNAPSHOTTED = {"MigrationFunction"}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's properties with the Globals SAM merges into them."""
    globals_ = template["Globals"]["Function"]
    return {
        name: {**globals_, **resource["Properties"]}
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_every_python_function_is_resumed_from_a_snapshot_of_a_published_version() -> None:
    functions = _functions(load_template())

    snapshotted = {
        name
        for name, properties in functions.items()
        if properties["Runtime"].startswith("python")
        and properties.get("AutoPublishAlias") == "live"
        and properties.get("SnapStart") == {"ApplyOn": "PublishedVersions"}
    }

    assert snapshotted == set(functions) - NOT_SNAPSHOTTED
    assert functions["MigrationFunction"]["SnapStart"] == {"ApplyOn": "None"}


def test_the_authorizer_and_the_websocket_routes_invoke_the_alias() -> None:
    resources = load_template()["Resources"]

    authorizer = resources["HttpApi"]["Properties"]["Auth"]["Authorizers"]["PayreqAuthorizer"]
    integration = resources["WebSocketIntegration"]["Properties"]["IntegrationUri"]
    permission = resources["WebSocketInvokePermission"]["Properties"]["FunctionName"]

    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
    assert "${SyncWebSocketFunctionAliaslive}" in integration["Fn::Sub"]
    assert permission == {"Ref": "SyncWebSocketFunction.Alias"}


def test_lambda_traces_every_function_and_the_sdk_inside_is_a_parameter_off_by_default() -> None:
    template = load_template()

    assert template["Globals"]["Function"]["Tracing"] == "Active"
    assert template["Parameters"]["TracingSdk"]["Default"] == "false"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PAYREQ_TRACING_SDK"] == {"Ref": "TracingSdk"}


def test_every_handler_registers_its_snapshot_hooks() -> None:
    from payreq_local.template import ROOT

    functions = _functions(load_template())
    for name, properties in functions.items():
        if name in NOT_SNAPSHOTTED:
            continue
        module = properties["Handler"].rsplit(".", 1)[0]
        source = ROOT / properties["CodeUri"] / (module.replace(".", "/") + ".py")
        # HTTP functions register theirs through payreq.http.http_function.
        text = source.read_text()
        assert "snapstart.register(" in text or "http_function(" in text, f"{name}: {source} registers no hooks"
