"""template.yaml is the local stack's routing table: functions, routes, authorizers, WebSocket, S3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from payreq_local.environment import LOCAL_PARAMETERS, LocalEndpoints, function_environment
from payreq_local.intrinsics import Resolver, TemplateError
from payreq_local.template import ROOT, _CloudFormationLoader, load_template, read_application

BASE = Path("/srv/app")
ENDPOINTS = LocalEndpoints(
    database_url="postgresql://postgres@/payreq?host=/tmp/pg",
    s3_url="http://127.0.0.1:4566",
    sqs_url="http://127.0.0.1:4566",
    gateway_url="http://127.0.0.1:3000",
)

SMALL = """
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 15
    Layers: [!Ref Layer]
    Environment:
      Variables: {SHARED: one, STAGE: !Ref Stage}
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Main
        Authorizers:
          Main:
            FunctionArn: !GetAtt AuthzFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], QueryStrings: [token], ReauthorizeEvery: 60}
      CorsConfiguration:
        AllowOrigins: [http://localhost:5173]
        AllowCredentials: true
        AllowMethods: [GET, post]
        AllowHeaders: [Authorization, Content-Type]
  ItemsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/items/
      Handler: items_api.handler.lambda_handler
      Timeout: 30
      Environment:
        Variables: {SHARED: mine, OWN: !Sub "${Stage}-x"}
      Events:
        List: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: get, Path: /items}}
        Health: {Type: HttpApi, Properties: {ApiId: !Ref Api, Method: GET, Path: /health, Auth: {Authorizer: NONE}}}
        Catch: {Type: HttpApi, Properties: {ApiId: !Ref Api}}
  AuthzFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/authz/, Handler: authz.handler.lambda_handler}
  Files:
    Type: AWS::S3::Bucket
  Failures:
    Type: AWS::SQS::Queue
  ParserFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/items/
      Handler: items_api.parser.lambda_handler
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}}
      Events:
        Uploaded:
          Type: S3
          Properties:
            Bucket: !Ref Files
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: in/}, {Name: suffix, Value: .pdf}]}}
  SocketFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/items/, Handler: items_api.socket.lambda_handler}
  Socket:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Socket
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/functions/${SocketFunction.Arn}/invocations
  Connect:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Socket, RouteKey: $connect, Target: !Sub "integrations/${Integration}"}
  Ping:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Socket
      RouteKey: ping
      RouteResponseSelectionExpression: $default
      Target: !Sub "integrations/${Integration}"
  PingResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Socket, RouteId: !Ref Ping, RouteResponseKey: $default}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Socket, StageName: !Ref Stage}
"""


def small(text: str = SMALL) -> tuple[dict[str, Any], Resolver]:
    template = yaml.load(text, Loader=_CloudFormationLoader)
    return template, Resolver(template, {"Stage": "local"})


def test_functions_get_globals_their_code_and_their_layers() -> None:
    template, resolver = small()
    app = read_application(template, resolver, BASE)
    items = app.functions["ItemsFunction"]

    assert (items.code_dir, items.module, items.attribute) == (
        BASE / "functions/items/",
        "items_api.handler",
        "lambda_handler",
    )
    assert items.timeout_seconds == 30
    assert app.functions["AuthzFunction"].timeout_seconds == 15
    assert items.layer_dirs == (BASE / "layers/shared",)


def test_http_routes_with_their_authorizer() -> None:
    template, resolver = small()
    app = read_application(template, resolver, BASE)
    routes = {route.route_key: route for route in app.routes}

    assert set(routes) == {"GET /items", "GET /health", "$default"}
    assert routes["GET /health"].authorizer is None
    authorizer = routes["GET /items"].authorizer
    assert authorizer is not None
    assert authorizer.function == "AuthzFunction"
    assert authorizer.identity_sources == ("$request.header.Authorization", "$request.querystring.token")
    assert (authorizer.ttl_seconds, authorizer.simple_responses) == (60, True)
    assert app.http_functions == ["ItemsFunction"]
    assert app.cors is not None
    assert app.cors.allow_methods == ("GET", "POST")
    assert app.cors.allow_headers == ("authorization", "content-type")


def test_websocket_routes_lead_through_the_integration_to_the_function() -> None:
    template, resolver = small()
    api = read_application(template, resolver, BASE).websocket

    assert api is not None
    assert (api.stage, api.route_selection_expression) == ("local", "$request.body.action")
    assert {key: (route.function, route.two_way) for key, route in api.routes.items()} == {
        "$connect": ("SocketFunction", False),
        "ping": ("SocketFunction", True),
    }


def test_s3_triggers_with_filters_and_failure_destination() -> None:
    template, resolver = small()
    (trigger,) = read_application(template, resolver, BASE).s3_triggers

    assert (trigger.function, trigger.bucket, trigger.events) == ("ParserFunction", "Files", ("s3:ObjectCreated:*",))
    assert (trigger.prefix, trigger.suffix, trigger.max_retries, trigger.on_failure_queue) == (
        "in/",
        ".pdf",
        1,
        "Failures",
    )
    assert trigger.matches("ObjectCreated:Post", "in/a b.pdf")
    assert not trigger.matches("ObjectCreated:Put", "out/a.pdf")
    assert not trigger.matches("ObjectCreated:Put", "in/a.txt")
    assert not trigger.matches("ObjectRemoved:Delete", "in/a.pdf")


def test_environment_is_globals_then_function_then_local_endpoints() -> None:
    template, resolver = small()
    spec = read_application(template, resolver, BASE).functions["ItemsFunction"]

    env = function_environment(spec, resolver, ENDPOINTS, {"ItemsFunction": {"EXTRA": "1"}})

    assert (env["SHARED"], env["STAGE"], env["OWN"], env["EXTRA"]) == ("mine", "local", "local-x", "1")
    assert env["DATABASE_URL"] == ENDPOINTS.database_url
    assert env["AWS_ENDPOINT_URL_S3"] == env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:4566"
    assert (env["PAYREQ_STAGE"], env["POWERTOOLS_TRACE_DISABLED"], env["AWS_REGION"]) == ("local", "true", "us-east-1")
    assert env["_HANDLER"] == "items_api.handler.lambda_handler"
    assert env["PYTHONPATH"].split(":") == [str(BASE / "functions/items"), str(BASE / "layers/shared")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("Method: get, Path: /items}", "Method: get, Path: /items, Auth: {Authorizer: Other}}"),
        ("EnableSimpleResponses: true", "JwtConfiguration: {}"),
        ("Runtime: python3.12", "Runtime: nodejs20.x"),
        ("RouteKey: $connect,", "RouteKey: $connect, AuthorizationType: CUSTOM,"),
    ],
)
def test_what_the_gateway_cannot_serve_fails_at_start_up(change: str, message: str) -> None:
    template, resolver = small(SMALL.replace(change, message))

    with pytest.raises(TemplateError):
        read_application(template, resolver, BASE)


def test_the_real_template_reads_and_every_function_environment_resolves() -> None:
    template = load_template()
    resolver = Resolver(template, LOCAL_PARAMETERS)
    app = read_application(template, resolver, ROOT)

    for spec in app.functions.values():
        # Lambda finds a handler in the function's code or in its layers (the migration function's is in one)
        places = (
            spec.code_dir,
            *(layer / "python" if (layer / "python").is_dir() else layer for layer in spec.layer_dirs),
        )
        assert any((place / spec.module.replace(".", "/")).with_suffix(".py").is_file() for place in places), spec.name
        function_environment(spec, resolver, ENDPOINTS)
    # The broadcaster is the one function that posts to @connections
    sync = function_environment(app.functions["BroadcasterFunction"], resolver, ENDPOINTS)
    assert sync["PAYREQ_WEBSOCKET_MANAGEMENT_URL"] == ENDPOINTS.gateway_url
    declared = resolver.resolve(
        app.functions["BroadcasterFunction"].environment["PAYREQ_WEBSOCKET_MANAGEMENT_URL"], "t"
    )
    assert declared == "https://websocketapi.execute-api.us-east-1.amazonaws.com/local"
    assert "PAYREQ_WEBSOCKET_MANAGEMENT_URL" not in function_environment(
        app.functions["PrFunction"], resolver, ENDPOINTS
    )
    assert app.websocket is not None and {"$connect", "$disconnect", "$default"} <= set(app.websocket.routes)
    assert any(t.function == "InvoiceParserFunction" and t.prefix == "uploads/" for t in app.s3_triggers)
    assert {f"GET /api/v1/health/{name}" for name in ("pr", "invoice", "payment", "auth", "audit", "sync")} <= {
        route.route_key for route in app.routes
    }
