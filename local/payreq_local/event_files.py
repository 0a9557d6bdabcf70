"""`payreq events generate [--check]`: events/*.json, one real-shaped event per route and trigger.

Read from template.yaml (payreq_local.template) and shaped by the same builders the local gateway
uses (payreq_local.events), so the files, `sam local invoke -e`, the gateway and the tests agree.
One file per HTTP route (`http_<method>_<path>.json`), per WebSocket route, for the HTTP API's
Lambda authorizer, per S3 trigger, per SQS event source and per schedule. Values are fixed (time,
ids, hosts), so generating twice writes the same bytes and `--check` can catch drift. Routes behind
the authorizer carry the context it gives a signed-in demo user (`payreq seed-demo` makes them with
fixed ids): the requester for payment-request and invoice writes, the finance user otherwise (who
also decides: approves, pays, verifies).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from payreq_cli.demo import DEMO_USERS, demo_user_id
from payreq_local.events import (
    ACCOUNT_ID,
    REGION,
    Connection,
    HttpRequest,
    authorizer_event,
    http_event,
    identity_values,
    s3_event,
    scheduled_event,
    sqs_event,
    websocket_connect_event,
    websocket_disconnect_event,
    websocket_message_event,
)
from payreq_local.intrinsics import Resolver
from payreq_local.template import ROOT, TEMPLATE, Application, HttpRoute, load_template, read_application

if TYPE_CHECKING:
    from pathlib import Path

EVENTS_DIR = ROOT / "events"
# The HTTP API's route keys, for the $default route's function to tell 405 from 404.
ROUTE_TABLE = ROOT / "functions" / "unrouted" / "unrouted_api" / "routes.json"
# What the $default route's sample event asks for: a path the API does not have.
UNROUTED_PATH = "/api/v1/no-such-route"
# What a deployed dev stage looks like: Stage=dev and made-up but well-formed AWS ids.
PARAMETERS = {"Stage": "dev", "DbProxyEndpoint": "payreq-dev.proxy-c1a2b3.us-east-1.rds.amazonaws.com"}
PARAMETERS |= {"DbProxyResourceId": "prx-0a1b2c3d4e5f", "SubnetIds": "", "SecurityGroupIds": ""}
PARAMETERS |= {"AllowedOrigins": "https://payreq.example.com"}
HTTP_API_ID = "r7x2k9qw4d"
WEBSOCKET_API_ID = "m3p8v1zc6b"
NOW = 1795342500.0  # 2026-11-22T10:15:00Z
SOURCE_IP = "203.0.113.24"
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
TRACE_ID = "Root=1-6b02c0a4-3c1f5d2a7b9e4f6a8c0d2e41"
SESSION_COOKIE = "__Host-payreq_session=Qm9vdHN0cmFwU2Vzc2lvbi5rM2o5ZDJmOHE0"
ORIGIN = "http://localhost:3000"
REQUESTER, FINANCE, APPROVER = "alice@example.com", "carol@example.com", "bob@example.com"


def _sample_id(name: str) -> str:
    """A fixed id for a path parameter or body field: well-formed, and found in no database."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://payreq.example/events/{name}"))


_DUE = (datetime.fromtimestamp(NOW, UTC).date() + timedelta(days=30)).isoformat()
_TODAY = datetime.fromtimestamp(NOW, UTC).date().isoformat()
# A body that passes validation for each route that takes one (routes not named here send none).
BODIES: dict[str, Any] = {
    "POST /api/v1/prs": {
        "title": "Laptop replacements",
        "payee": "TechSupply BV",
        "amount": "4200.00",
        "currency": "EUR",
        "dueDate": _DUE,
        # Requesters choose a template; writing a flow inline is for holders of flows.manage.
        "approvalFlowTemplateId": _sample_id("approvalFlowTemplateId"),
    },
    "PATCH /api/v1/prs/{prId}": {"amount": "3900.00"},
    "POST /api/v1/prs/{prId}/approve": {"comment": "Budgeted."},
    "POST /api/v1/prs/{prId}/reject": {"comment": "Not this quarter."},
    "POST /api/v1/prs/{prId}/invoices": {"invoiceId": _sample_id("invoice")},
    "POST /api/v1/approval-flows": {
        "name": "Two approvers",
        "steps": [
            {"name": "Approver", "mode": "anyof", "approvers": [str(demo_user_id(APPROVER))]},
            {"name": "Finance", "mode": "anyof", "approvers": [str(demo_user_id(FINANCE))], "threshold": "1000"},
        ],
    },
    "PATCH /api/v1/approval-flows/{templateId}": {"description": "Finance signs from 1,000."},
    "POST /api/v1/invoices": {
        "number": "SFS-2026-0412",
        "vendor": "Sparkle Facility Services",
        "issueDate": _TODAY,
        "currency": "EUR",
        "total": "1850.00",
    },
    "POST /api/v1/invoices/uploads": {"fileName": "march invoice.pdf", "contentType": "application/pdf"},
    "PATCH /api/v1/invoices/{invoiceId}": {"dueDate": _DUE},
    "POST /api/v1/invoices/{invoiceId}/status": {"status": "verified"},
    "POST /api/v1/invoices/{invoiceId}/attachments": {"fileName": "receipt.pdf", "contentType": "application/pdf"},
    "POST /api/v1/payment-methods": {
        "payee": "Sparkle Facility Services",
        "type": "bank_transfer",
        "label": "Main account",
        "details": {"iban": "DE89 3704 0044 0532 0130 00"},
    },
    "PATCH /api/v1/payment-methods/{methodId}": {"label": "Main account (EUR)"},
    "POST /api/v1/prs/{prId}/payments": {"amount": "1850.00", "currency": "EUR", "externalReference": "SEPA-0412"},
    "POST /api/v1/payments/{paymentId}/void": {"reason": "Sent to the wrong account."},
    "POST /api/v1/tokens": {"name": "reporting script", "scopes": ["pr.read"], "expiresInDays": 30},
    "PATCH /api/v1/users/{userId}": {"displayName": "Alice Requester-Smith"},
    "POST /auth/test-login": {"token": "payreq-local", "email": REQUESTER},
}
# POST routes that act on the version the caller read, so send If-Match as updates do.
DECISIONS_ON_A_VERSION = {"POST /api/v1/invoices/{invoiceId}/status"}
# Query strings as our clients send them (list routes page by `limit`; routes not named send none).
QUERIES: dict[str, str] = {
    "GET /api/v1/prs": "limit=20",
    "GET /api/v1/invoices": "limit=20",
    "GET /api/v1/payments": "limit=20",
    "GET /api/v1/users": "limit=20",
    "GET /api/v1/audit-events": "limit=50",
    "GET /api/v1/security-events": "limit=50",
    "GET /api/v1/audit-events/export": "from=2026-11-01T00%3A00%3A00Z&to=2026-11-22T00%3A00%3A00Z&format=jsonl",
    "GET /api/v1/sync/changes": "since=0",
    "GET /auth/google/callback": "state=c3RhdGUtZnJvbS1sb2dpbg&code=4%2F0AeanS0bExample&scope=openid+email+profile",
}
# Path parameters that name a demo user; every other one is a sample id.
USER_PARAMETERS = {"userId": str(demo_user_id(REQUESTER))}


@dataclass(frozen=True)
class EventFile:
    name: str  # file name in events/
    function: str  # logical id of the function it is for
    event: dict[str, Any]

    def render(self) -> str:
        return json.dumps(self.event, indent=2, ensure_ascii=False) + "\n"


def generate(
    *, check: bool = False, template: Path = TEMPLATE, directory: Path = EVENTS_DIR, route_table: Path = ROUTE_TABLE
) -> int:
    """Write events/ and the route table (or with `check`, exit 1 naming what differs); prints one line."""
    files = {item.name: item.render() for item in event_files(template)}
    routes = route_table_text(template)
    if check:
        stale = sorted(name for name, text in files.items() if _read(directory / name) != text)
        extra = sorted(path.name for path in directory.glob("*.json") if path.name not in files)
        if _read(route_table) != routes:
            stale.append(str(route_table.relative_to(ROOT) if route_table.is_relative_to(ROOT) else route_table))
        if stale or extra:
            what = ", ".join([*(f"{name} differs" for name in stale), *(f"{name} is not generated" for name in extra)])
            print(f"events/ is stale ({what}): run `payreq events generate` and commit it", file=sys.stderr)
            return 1
        print(f"events/ is up to date ({len(files)} events)")
        return 0
    directory.mkdir(exist_ok=True)
    for path in directory.glob("*.json"):
        if path.name not in files:
            path.unlink()
    for name, text in files.items():
        (directory / name).write_text(text)
    route_table.write_text(routes)
    print(f"wrote {len(files)} events to {directory}")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def route_table_text(template_path: Path = TEMPLATE) -> str:
    """The HTTP API's route keys (`GET /api/v1/prs/{prId}`), as `unrouted_api.route_table` reads them."""
    template = load_template(template_path)
    application = read_application(template, Resolver(template, PARAMETERS), template_path.resolve().parent)
    keys = sorted(route.route_key for route in application.routes if route.path != "$default")
    return json.dumps(keys, indent=2) + "\n"


def event_files(template_path: Path = TEMPLATE) -> list[EventFile]:
    template = load_template(template_path)
    resolver = Resolver(template, PARAMETERS)
    application = read_application(template, resolver, template_path.resolve().parent)
    files = [_http_file(route) for route in application.routes]
    files += _authorizer_files(application)
    files += _websocket_files(application)
    files += [_s3_file(application, template, resolver, index) for index in range(len(application.s3_triggers))]
    files += [_sqs_file(application, resolver, index) for index in range(len(application.sqs_triggers))]
    files += [_schedule_file(application, index) for index in range(len(application.schedules))]
    return sorted(files, key=lambda item: item.name)


# ---------------------------------------------------------------------------------------- HTTP


def http_file_name(route: HttpRoute) -> str:
    if route.path == "$default":
        return "http_default.json"
    words = [part.strip("{}+").replace("-", "_") for part in route.path.strip("/").split("/") if part]
    return "_".join(["http", route.method.lower(), *words]) + ".json"


def _request(route: HttpRoute, *, authenticated: bool) -> tuple[HttpRequest, dict[str, str]]:
    parameters = {name: USER_PARAMETERS.get(name, _sample_id(name)) for name in _path_parameters(route.path)}
    path = UNROUTED_PATH if route.path == "$default" else route.path
    for name, value in parameters.items():
        path = path.replace(f"{{{name}}}", value)
    body = BODIES.get(route.route_key)
    headers = [
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("host", f"{HTTP_API_ID}.execute-api.{REGION}.amazonaws.com"),
        ("user-agent", USER_AGENT),
        ("x-amzn-trace-id", TRACE_ID),
    ]
    if body is not None:
        headers.append(("content-type", "application/json"))
    if authenticated or route.path.startswith("/auth/"):
        headers.append(("cookie", SESSION_COOKIE))
    if route.method not in ("GET", "HEAD", "OPTIONS"):
        # Our pages send it with every write (the CSRF proof for cookie-authenticated ones).
        headers += [("origin", ORIGIN), ("x-requested-with", "XMLHttpRequest")]
    if route.method in ("PATCH", "PUT") or route.route_key in DECISIONS_ON_A_VERSION:
        headers.append(("if-match", '"1"'))
    elif route.path.endswith(("/approve", "/reject", "/unapprove")):
        # A decision binds to the version the approver read: here, the one submit left.
        headers.append(("if-match", '"2"'))
    request = HttpRequest(
        method="GET" if route.path == "$default" else route.method,
        path=path,
        raw_query=QUERIES.get(route.route_key, ""),
        headers=headers,
        body=json.dumps(body).encode() if body is not None else b"",
        source_ip=SOURCE_IP,
        protocol="HTTP/1.1",
        scheme="https",
        port=443,
        received_at=NOW,
    )
    return request, parameters


def _path_parameters(path: str) -> list[str]:
    return [part.strip("{}+") for part in path.split("/") if part.startswith("{")]


def _acting_user(route: HttpRoute) -> str:
    writes = route.method not in ("GET", "HEAD", "OPTIONS")
    raises = route.path.startswith(("/api/v1/prs", "/api/v1/invoices")) and not route.path.endswith(
        ("/approve", "/reject", "/unapprove", "/payments", "/status")
    )
    return REQUESTER if writes and raises else FINANCE


def authorizer_context(email: str) -> dict[str, str]:
    """What the HTTP API's authorizer puts in the context for this demo user's session."""
    return {"userId": str(demo_user_id(email)), "permissions": " ".join(DEMO_USERS[email][1]), "authMethod": "session"}


def _http_file(route: HttpRoute) -> EventFile:
    request, parameters = _request(route, authenticated=route.authorizer is not None)
    event = http_event(
        request,
        route_key=route.route_key,
        path_parameters=parameters,
        api_id=HTTP_API_ID,
        request_id=_request_id(route.route_key),
        authorizer_context=authorizer_context(_acting_user(route)) if route.authorizer is not None else None,
    )
    return EventFile(http_file_name(route), route.function, event)


def _request_id(seed: str) -> str:
    """Shaped like API Gateway's request ids (`Bz4kZhE5oAMEbXw=`), fixed per route."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()[:11]).decode()


def _authorizer_files(application: Application) -> list[EventFile]:
    """The authorizer's REQUEST event for the first route behind each authorizer (one file each)."""
    files: dict[str, EventFile] = {}
    for route in application.routes:
        authorizer = route.authorizer
        if authorizer is None or authorizer.name in files:
            continue
        request, parameters = _request(route, authenticated=True)
        event = authorizer_event(
            request,
            route_key=route.route_key,
            path_parameters=parameters,
            api_id=HTTP_API_ID,
            request_id=_request_id(f"authorizer {route.route_key}"),
            identity=identity_values(authorizer.identity_sources, request) or [],
        )
        name = "authorizer_request.json" if not files else f"authorizer_{authorizer.name.lower()}.json"
        files[authorizer.name] = EventFile(name, authorizer.function, event)
    return list(files.values())


# ----------------------------------------------------------------------------------- WebSocket


def _websocket_files(application: Application) -> list[EventFile]:
    api = application.websocket
    if api is None:
        return []
    host = f"{WEBSOCKET_API_ID}.execute-api.{REGION}.amazonaws.com"
    connection = Connection(
        connection_id="Bz4nAcQ2IAMCJ4g=",
        api_id=WEBSOCKET_API_ID,
        stage=str(PARAMETERS["Stage"]),
        domain_name=host,
        source_ip=SOURCE_IP,
        user_agent=USER_AGENT,
        connected_at=NOW,
    )
    files = []
    for key in api.routes:
        request_id = _request_id(f"websocket {key}")
        if key == "$connect":
            headers = [
                ("Cookie", SESSION_COOKIE),
                ("Host", host),
                ("Origin", ORIGIN),
                ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
                ("User-Agent", USER_AGENT),
                ("X-Amzn-Trace-Id", TRACE_ID),
                ("X-Forwarded-For", SOURCE_IP),
                ("X-Forwarded-Port", "443"),
                ("X-Forwarded-Proto", "https"),
            ]
            event = websocket_connect_event(connection, headers=headers, raw_query="", request_id=request_id, now=NOW)
        elif key == "$disconnect":
            event = websocket_disconnect_event(
                connection, status_code=1001, reason="Going away", request_id=request_id, now=NOW + 60
            )
        else:
            event = websocket_message_event(
                connection,
                route_key=key,
                body=json.dumps(_message(key)),
                is_base64=False,
                request_id=request_id,
                now=NOW + 30,
                message_id=_request_id(f"message {key}"),
            )
        files.append(EventFile(f"websocket_{key.lstrip('$')}.json", api.routes[key].function, event))
    return files


def _message(route_key: str) -> dict[str, Any]:
    """What our client sends on each route (`$default` gets whatever matched no route)."""
    if route_key in ("subscribe", "unsubscribe"):
        return {"action": route_key, "topics": ["prs"]}
    if route_key == "$default":
        return {"action": "hello"}
    return {"action": route_key}


# -------------------------------------------------------------------------------- S3, SQS, schedules


def _s3_file(application: Application, template: dict[str, Any], resolver: Resolver, index: int) -> EventFile:
    trigger = application.s3_triggers[index]
    properties = template["Resources"][trigger.bucket].get("Properties") or {}
    # Without a BucketName, CloudFormation names it <stack>-<logical id, lowercase>-<12 random characters>.
    generated = f"payreq-{PARAMETERS['Stage']}-{trigger.bucket.lower()}-1kq3mz8e0b7x"
    bucket = str(resolver.resolve(properties.get("BucketName", generated), trigger.bucket))
    key = f"{trigger.prefix}{_sample_id('upload')}/march invoice+2026.pdf{trigger.suffix}"
    record = {
        "eventTime": datetime.fromtimestamp(NOW + 3, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": f"AWS:AROA3X7QZB2KEXAMPLE1:payreq-{PARAMETERS['Stage']}-upload"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "configurationId": trigger.event,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": key,
                "size": 48213,
                "eTag": "9b2cf535f27731c974343645a3985328",
                "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                "sequencer": "0067404FE4A1B2C3D4",
            },
        },
    }
    name = "s3_object_created.json" if index == 0 else f"s3_{trigger.function.lower()}_{trigger.event.lower()}.json"
    return EventFile(name, trigger.function, s3_event(record, source_ip=SOURCE_IP))


# What each queue's consumer is sent, and by whom: the product's own messages (payreq.outbox's nudge
# after a change commits, naming one partition of the WebSocket connections; the webhooks' "a
# delivery is due"). A queue not named here gets an empty object.
SQS_MESSAGES: dict[str, tuple[dict[str, Any], str]] = {
    "BroadcasterFunction": ({"outbox": True, "partition": 0}, "PrFunction"),
    "WebhookDelivererFunction": ({"deliver": True}, "WebhooksFunction"),
}


def _sqs_file(application: Application, resolver: Resolver, index: int) -> EventFile:
    trigger = application.sqs_triggers[index]
    queue = resolver.resolve({"Fn::GetAtt": [trigger.queue, "QueueName"]}, trigger.queue)
    queue_name = queue if isinstance(queue, str) and queue else trigger.queue
    sent = str(int(NOW * 1000))
    body, sender = SQS_MESSAGES.get(trigger.function, ({}, trigger.function))
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": sent,
        "SenderId": f"AROA3X7QZB2KEXAMPLE1:payreq-dev-{sender}",
        "ApproximateFirstReceiveTimestamp": sent,
    }
    if queue_name.endswith(".fifo"):
        # A FIFO queue's message carries its group (the partition) and its place in the group.
        attributes |= {
            "MessageGroupId": "partition-0",
            "MessageDeduplicationId": _sample_id(f"sqs {trigger.event} deduplication"),
            "SequenceNumber": "18888888888888888888",
        }
    message = {
        "MessageId": _sample_id(f"sqs {trigger.event}"),
        "ReceiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + "Example" * 4,
        "Body": json.dumps(body),
        "Attributes": attributes,
        "MD5OfBody": hashlib.md5(json.dumps(body).encode()).hexdigest(),
    }
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}"
    event = sqs_event([message], queue_arn=arn, region=REGION)
    return EventFile(f"sqs_{_snake(trigger.event)}.json", trigger.function, event)


def _schedule_file(application: Application, index: int) -> EventFile:
    schedule = application.schedules[index]
    rule = f"payreq-{PARAMETERS['Stage']}-{schedule.function}{schedule.event}"[:64]
    arn = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}"
    event = scheduled_event(arn, event_id=_sample_id(f"schedule {schedule.function}"), now=NOW)
    name = f"schedule_{_snake(schedule.function.removesuffix('Function'))}.json"
    return EventFile(name, schedule.function, event)


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() and index else char.lower() for index, char in enumerate(name))
