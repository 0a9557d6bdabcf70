"""Reads template.yaml: the one routing table, which the local stack never duplicates.

`read_application` turns the SAM template into what the gateway serves: the functions (code,
handler, timeout, environment as written), the HTTP API routes with their Lambda authorizers, the
WebSocket API's routes, and the S3 triggers with their key filters. Values go through the
intrinsic resolver, so `!Ref`/`!Sub` in any of them work; features the gateway does not implement
raise `TemplateError` instead of being silently ignored (an authorizer ignored would be a route
left open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from payreq_local.intrinsics import Resolver, TemplateError, referenced_resources

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

FUNCTION_TYPES = frozenset({"AWS::Serverless::Function"})
DEFAULT_TIMEOUT_SECONDS = 3  # Lambda's own default when neither the function nor Globals set one
DEFAULT_MEMORY_MB = 128


class _CloudFormationLoader(yaml.SafeLoader):
    """Accepts CloudFormation's short-form intrinsics (!Ref, !Sub, ...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"Fn::{suffix}" if suffix not in {"Ref", "Condition"} else suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as stream:
        return yaml.load(stream, Loader=_CloudFormationLoader)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- what the gateway serves


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    memory_mb: int = DEFAULT_MEMORY_MB
    layer_dirs: tuple[Path, ...] = ()
    # Globals' variables overlaid with the function's own, still unresolved (see environment.py).
    environment: Mapping[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class LambdaAuthorizer:
    name: str
    function: str
    # API Gateway mapping expressions: $request.header.X, $request.querystring.X, $context.X, $stageVariables.X
    identity_sources: tuple[str, ...] = ()
    ttl_seconds: int = 0
    simple_responses: bool = True


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # /api/v1/prs/{id}, /files/{proxy+}, or $default
    function: str
    authorizer: LambdaAuthorizer | None
    event: str = ""

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str
    function: str
    # A two-way route (RouteResponseSelectionExpression set) sends the function's body back.
    two_way: bool = False


@dataclass(frozen=True)
class WebSocketApi:
    name: str
    api_id: str
    stage: str
    route_selection_expression: str
    routes: Mapping[str, WebSocketRoute]


@dataclass(frozen=True)
class S3Trigger:
    function: str
    event: str
    bucket: str  # logical id of the AWS::S3::Bucket
    events: tuple[str, ...]  # s3:ObjectCreated:*, ...
    prefix: str = ""
    suffix: str = ""
    max_retries: int = 2  # Lambda's default for asynchronous invocation
    on_failure_queue: str | None = None  # logical id of an AWS::SQS::Queue

    def matches(self, event_name: str, key: str) -> bool:
        """Does an S3 event (`ObjectCreated:Put`, decoded key) fall under this trigger?"""
        full = event_name if event_name.startswith("s3:") else f"s3:{event_name}"
        wanted = any(
            full == pattern or (pattern.endswith(":*") and full.startswith(pattern[:-1])) for pattern in self.events
        )
        return wanted and key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class SqsTrigger:
    """A function's `Type: SQS` event source: Lambda polls the queue and hands over batches."""

    function: str
    event: str
    queue: str  # logical id of the AWS::SQS::Queue
    batch_size: int = 10


@dataclass(frozen=True)
class ScheduleTrigger:
    """A function's `Type: Schedule` event: EventBridge invokes it with a "Scheduled Event"."""

    function: str
    event: str
    schedule: str  # rate(...) or cron(...)


@dataclass(frozen=True)
class Application:
    functions: Mapping[str, FunctionSpec]
    http_api_id: str
    routes: tuple[HttpRoute, ...]
    cors: Cors | None
    websocket: WebSocketApi | None
    s3_triggers: tuple[S3Trigger, ...]
    sqs_triggers: tuple[SqsTrigger, ...] = ()
    schedules: tuple[ScheduleTrigger, ...] = ()

    @property
    def http_functions(self) -> list[str]:
        """Functions behind HTTP routes, in template order (their resolvers make the OpenAPI document)."""
        names = {route.function for route in self.routes}
        return [name for name in self.functions if name in names]


def functions(template: Mapping[str, Any], base_dir: Path = ROOT) -> list[FunctionSpec]:
    """Every function of the template (Globals applied), without resolving anything."""
    return list(_read_functions(template, base_dir, Resolver(template)).values())


def read_application(template: Mapping[str, Any], resolver: Resolver, base_dir: Path = ROOT) -> Application:
    fns = _read_functions(template, base_dir, resolver)
    http_api_id, routes, cors = _read_http_api(template, resolver, fns)
    return Application(
        functions=fns,
        http_api_id=http_api_id,
        routes=tuple(routes),
        cors=cors,
        websocket=_read_websocket_api(template, resolver, fns),
        s3_triggers=tuple(_read_s3_triggers(template, resolver, fns)),
        sqs_triggers=tuple(_read_sqs_triggers(template, resolver, fns)),
        schedules=tuple(_read_schedules(template, resolver, fns)),
    )


def _resources(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in (template.get("Resources") or {}).items() if res.get("Type") == kind}


def _function_events(
    template: Mapping[str, Any], fns: Mapping[str, FunctionSpec], kind: str
) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(function, event name, where, properties) of every `Events` entry of type `kind`, in template order."""
    for function_name, resource in (template.get("Resources") or {}).items():
        if function_name not in fns:
            continue
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") == kind:
                yield function_name, event_name, f"{function_name}.Events.{event_name}", event.get("Properties") or {}


# ------------------------------------------------------------------------------------ functions


def _read_functions(template: Mapping[str, Any], base_dir: Path, resolver: Resolver) -> dict[str, FunctionSpec]:
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    layers = _resources(template, "AWS::Serverless::LayerVersion")
    return {
        name: _function_spec(name, resource, globals_, layers, base_dir, resolver)
        for name, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") in FUNCTION_TYPES
    }


def _function_spec(
    name: str,
    resource: Mapping[str, Any],
    globals_: Mapping[str, Any],
    layers: Mapping[str, Mapping[str, Any]],
    base_dir: Path,
    resolver: Resolver,
) -> FunctionSpec:
    own = resource.get("Properties") or {}
    properties = {**globals_, **own}
    if properties.get("PackageType", "Zip") != "Zip" or "CodeUri" not in properties or "Handler" not in properties:
        raise TemplateError(f"{name}: the local stack runs zip functions with CodeUri and Handler only")
    runtime = str(properties.get("Runtime", ""))
    if not runtime.startswith("python3"):
        raise TemplateError(f"{name}: runtime {runtime!r} is not Python; the local stack runs Python handlers")
    variables = {
        **((globals_.get("Environment") or {}).get("Variables") or {}),
        **((own.get("Environment") or {}).get("Variables") or {}),
    }
    # SAM adds the Globals' layers to the function's own.
    layer_refs = [*(globals_.get("Layers") or []), *(own.get("Layers") or [])]
    return FunctionSpec(
        name=name,
        code_dir=base_dir / str(resolver.resolve(properties["CodeUri"], f"{name}.CodeUri")),
        handler=str(resolver.resolve(properties["Handler"], f"{name}.Handler")),
        timeout_seconds=int(resolver.resolve(properties.get("Timeout", DEFAULT_TIMEOUT_SECONDS), f"{name}.Timeout")),
        memory_mb=int(resolver.resolve(properties.get("MemorySize", DEFAULT_MEMORY_MB), f"{name}.MemorySize")),
        layer_dirs=tuple(_layer_dir(name, layer, layers, base_dir, resolver) for layer in layer_refs),
        environment=variables,
    )


def _layer_dir(
    name: str, layer: Any, layers: Mapping[str, Mapping[str, Any]], base_dir: Path, resolver: Resolver
) -> Path:
    (layer_id,) = referenced_resources(layer) or {""}
    if layer_id not in layers:
        raise TemplateError(f"{name}: layer {layer!r} is not an AWS::Serverless::LayerVersion of this template")
    content = resolver.resolve(layers[layer_id]["Properties"]["ContentUri"], f"{layer_id}.ContentUri")
    return base_dir / str(content)


def _function_of(value: Any, fns: Mapping[str, FunctionSpec], where: str) -> str:
    """The one function of this template an ARN expression (GetAtt, Sub, Ref) points at."""
    found = [name for name in referenced_resources(value) if name in fns]
    if len(found) != 1:
        raise TemplateError(f"{where}: {value!r} does not name exactly one function of this template")
    return found[0]


# -------------------------------------------------------------------------- events: HttpApi


def _read_http_api(
    template: Mapping[str, Any], resolver: Resolver, fns: Mapping[str, FunctionSpec]
) -> tuple[str, list[HttpRoute], Cors | None]:
    apis = _resources(template, "AWS::Serverless::HttpApi")
    if len(apis) > 1:
        raise TemplateError(f"the local gateway serves one HTTP API; the template has {', '.join(apis)}")
    api_name, api = next(iter(apis.items()), ("ServerlessHttpApi", {}))
    properties = api.get("Properties") or {}
    auth = resolver.resolve(properties.get("Auth") or {}, f"{api_name}.Auth")
    authorizers = {
        name: _read_authorizer(name, config, fns, (properties.get("Auth") or {}).get("Authorizers", {}).get(name, {}))
        for name, config in (auth.get("Authorizers") or {}).items()
    }
    default = auth.get("DefaultAuthorizer")
    routes = [
        _http_route(api_name, function_name, event_name, where, props, authorizers, default, resolver)
        for function_name, event_name, where, props in _function_events(template, fns, "HttpApi")
    ]
    _refuse_duplicate_routes(routes)
    cors = (
        _read_cors(resolver.resolve(properties["CorsConfiguration"], f"{api_name}.CorsConfiguration"))
        if "CorsConfiguration" in properties
        else None
    )
    return resolver.local_name(api_name) if api else "httpapi", routes, cors


def _http_route(
    api_name: str,
    function_name: str,
    event_name: str,
    where: str,
    props: Mapping[str, Any],
    authorizers: Mapping[str, LambdaAuthorizer],
    default: Any,
    resolver: Resolver,
) -> HttpRoute:
    if "ApiId" in props and referenced_resources(props["ApiId"]) != {api_name}:
        raise TemplateError(f"{where}: ApiId must reference {api_name}")
    if str(props.get("PayloadFormatVersion", "2.0")) != "2.0":
        raise TemplateError(f"{where}: the local gateway sends payload format 2.0 only")
    chosen = (props.get("Auth") or {}).get("Authorizer", default)
    if chosen in (None, "NONE"):
        authorizer = None
    elif chosen in authorizers:
        authorizer = authorizers[chosen]
    else:
        raise TemplateError(f"{where}: authorizer {chosen!r} is not defined on {api_name}")
    path = str(resolver.resolve(props["Path"], where)) if "Path" in props else "$default"
    method = str(resolver.resolve(props.get("Method", "ANY"), where)).upper()
    return HttpRoute(method, path, function_name, authorizer, event_name)


def _refuse_duplicate_routes(routes: list[HttpRoute]) -> None:
    seen: dict[str, HttpRoute] = {}
    for route in routes:
        if route.route_key in seen:
            raise TemplateError(
                f"route {route.route_key} is declared twice ({seen[route.route_key].function}, {route.function})"
            )
        seen[route.route_key] = route


def _read_authorizer(
    name: str, config: Mapping[str, Any], fns: Mapping[str, FunctionSpec], raw: Any
) -> LambdaAuthorizer:
    where = f"HttpApi authorizer {name}"
    if "JwtConfiguration" in config or "FunctionArn" not in config:
        raise TemplateError(f"{where}: only Lambda authorizers are served locally")
    if str(config.get("AuthorizerPayloadFormatVersion", "2.0")) != "2.0":
        raise TemplateError(f"{where}: only payload format 2.0 is served locally")
    identity = config.get("Identity") or {}
    sources = [
        f"{prefix}{value}"
        for prefix, key in (
            ("$request.header.", "Headers"),
            ("$request.querystring.", "QueryStrings"),
            ("$stageVariables.", "StageVariables"),
            ("$context.", "Context"),
        )
        for value in identity.get(key) or []
    ]
    return LambdaAuthorizer(
        name=name,
        # The raw (unresolved) FunctionArn still says which function it is.
        function=_function_of(raw.get("FunctionArn"), fns, where),
        identity_sources=tuple(sources),
        # SAM sets no TTL unless ReauthorizeEvery is given: API Gateway then caches nothing.
        ttl_seconds=int(identity.get("ReauthorizeEvery", 0)),
        simple_responses=bool(config.get("EnableSimpleResponses", False)),
    )


def _words(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(item) for item in (value if isinstance(value, list) else [value]))


def _read_cors(config: Any) -> Cors | None:
    if config is True:
        return Cors(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    if not isinstance(config, dict):
        return None
    return Cors(
        allow_origins=_words(config.get("AllowOrigins")),
        allow_methods=tuple(method.upper() for method in _words(config.get("AllowMethods"))),
        allow_headers=tuple(header.lower() for header in _words(config.get("AllowHeaders"))),
        expose_headers=_words(config.get("ExposeHeaders")),
        allow_credentials=bool(config.get("AllowCredentials", False)),
        max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
    )


# ------------------------------------------------------------------------ the WebSocket API


def _read_websocket_api(
    template: Mapping[str, Any], resolver: Resolver, fns: Mapping[str, FunctionSpec]
) -> WebSocketApi | None:
    apis = {
        name: res
        for name, res in _resources(template, "AWS::ApiGatewayV2::Api").items()
        if (res.get("Properties") or {}).get("ProtocolType") == "WEBSOCKET"
    }
    if not apis:
        return None
    if len(apis) > 1:
        raise TemplateError(f"the local gateway serves one WebSocket API; the template has {', '.join(apis)}")
    ((api_name, api),) = apis.items()
    routes: dict[str, WebSocketRoute] = {}
    for route_name, route in _resources(template, "AWS::ApiGatewayV2::Route").items():
        props = route.get("Properties") or {}
        if referenced_resources(props.get("ApiId")) == {api_name}:
            websocket_route = _websocket_route(template, route_name, props, resolver, fns)
            routes[websocket_route.route_key] = websocket_route
    props = api.get("Properties") or {}
    return WebSocketApi(
        name=api_name,
        api_id=resolver.local_name(api_name),
        stage=_websocket_stage(template, api_name, resolver),
        route_selection_expression=str(
            resolver.resolve(props.get("RouteSelectionExpression", "$request.body.action"), api_name)
        ),
        routes=routes,
    )


def _websocket_route(
    template: Mapping[str, Any],
    route_name: str,
    props: Mapping[str, Any],
    resolver: Resolver,
    fns: Mapping[str, FunctionSpec],
) -> WebSocketRoute:
    integrations = _resources(template, "AWS::ApiGatewayV2::Integration")
    if str(props.get("AuthorizationType", "NONE")) != "NONE":
        raise TemplateError(f"{route_name}: WebSocket authorizers are not served locally")
    targets = [name for name in referenced_resources(props.get("Target")) if name in integrations]
    if len(targets) != 1:
        raise TemplateError(f"{route_name}: Target must reference one AWS::ApiGatewayV2::Integration")
    integration = integrations[targets[0]].get("Properties") or {}
    if integration.get("IntegrationType") != "AWS_PROXY":
        raise TemplateError(f"{targets[0]}: only AWS_PROXY (Lambda) integrations are served locally")
    has_response = any(
        referenced_resources((res.get("Properties") or {}).get("RouteId")) == {route_name}
        for res in _resources(template, "AWS::ApiGatewayV2::RouteResponse").values()
    )
    return WebSocketRoute(
        route_key=str(resolver.resolve(props["RouteKey"], route_name)),
        function=_function_of(integration.get("IntegrationUri"), fns, targets[0]),
        two_way="RouteResponseSelectionExpression" in props and has_response,
    )


def _websocket_stage(template: Mapping[str, Any], api_name: str, resolver: Resolver) -> str:
    stages = [
        res
        for res in _resources(template, "AWS::ApiGatewayV2::Stage").values()
        if referenced_resources((res.get("Properties") or {}).get("ApiId")) == {api_name}
    ]
    return str(resolver.resolve(stages[0]["Properties"]["StageName"], f"{api_name} stage")) if stages else "$default"


# ------------------------------------------------------------------------------- events: S3


def _read_s3_triggers(
    template: Mapping[str, Any], resolver: Resolver, fns: Mapping[str, FunctionSpec]
) -> list[S3Trigger]:
    buckets = _resources(template, "AWS::S3::Bucket")
    # Checked for every function, S3 events or not, so a wrong destination never waits for its first use.
    invoke_configs = {
        name: _invoke_config(name, resource, template)
        for name, resource in (template.get("Resources") or {}).items()
        if name in fns
    }
    return [
        _s3_trigger(function_name, event_name, where, props, buckets, invoke_configs[function_name], resolver)
        for function_name, event_name, where, props in _function_events(template, fns, "S3")
    ]


def _invoke_config(
    function_name: str, resource: Mapping[str, Any], template: Mapping[str, Any]
) -> tuple[Mapping[str, Any], str | None]:
    """The function's EventInvokeConfig, and the logical id of its OnFailure queue (if any)."""
    invoke_config = (resource.get("Properties") or {}).get("EventInvokeConfig") or {}
    failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}
    if not failure:
        return invoke_config, None
    queues = _resources(template, "AWS::SQS::Queue")
    targets = [name for name in referenced_resources(failure.get("Destination")) if name in queues]
    if failure.get("Type") != "SQS" or len(targets) != 1:
        raise TemplateError(
            f"{function_name}.EventInvokeConfig: only an SQS queue of this template is served as OnFailure"
        )
    return invoke_config, targets[0]


def _s3_trigger(
    function_name: str,
    event_name: str,
    where: str,
    props: Mapping[str, Any],
    buckets: Mapping[str, Any],
    invoke: tuple[Mapping[str, Any], str | None],
    resolver: Resolver,
) -> S3Trigger:
    invoke_config, on_failure = invoke
    bucket = [name for name in referenced_resources(props.get("Bucket")) if name in buckets]
    if len(bucket) != 1:
        raise TemplateError(f"{where}: Bucket must !Ref an AWS::S3::Bucket of this template (as SAM requires)")
    rules = resolver.resolve(((props.get("Filter") or {}).get("S3Key") or {}).get("Rules") or [], where)
    filters = {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}
    return S3Trigger(
        function=function_name,
        event=event_name,
        bucket=bucket[0],
        events=_words(resolver.resolve(props["Events"], where)),
        prefix=filters.get("prefix", ""),
        suffix=filters.get("suffix", ""),
        max_retries=int(resolver.resolve(invoke_config.get("MaximumRetryAttempts", 2), where)),
        on_failure_queue=on_failure,
    )


# ------------------------------------------------------------------------------ events: SQS


def _read_sqs_triggers(
    template: Mapping[str, Any], resolver: Resolver, fns: Mapping[str, FunctionSpec]
) -> list[SqsTrigger]:
    queues = _resources(template, "AWS::SQS::Queue")
    triggers = []
    for function_name, event_name, where, props in _function_events(template, fns, "SQS"):
        queue = [name for name in referenced_resources(props.get("Queue")) if name in queues]
        if len(queue) != 1:
            raise TemplateError(f"{where}: Queue must name an AWS::SQS::Queue of this template")
        size = int(resolver.resolve(props.get("BatchSize", 10), where))
        triggers.append(SqsTrigger(function=function_name, event=event_name, queue=queue[0], batch_size=size))
    return triggers


# ------------------------------------------------------------------------- events: Schedule


def _read_schedules(
    template: Mapping[str, Any], resolver: Resolver, fns: Mapping[str, FunctionSpec]
) -> list[ScheduleTrigger]:
    """The functions' `Type: Schedule` events (the schedule runner invokes them; `events/` has one each)."""
    return [
        ScheduleTrigger(
            function=function_name,
            event=event_name,
            schedule=str(resolver.resolve(props.get("Schedule"), where)),
        )
        for function_name, event_name, where, props in _function_events(template, fns, "Schedule")
    ]
