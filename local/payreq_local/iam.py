"""Each function's IAM role, read from the template and enforced on the AWS calls it makes locally.

On AWS a function may call only what its role allows; moto allows everything. Without this, a call
added to a function without its permission passes every local test and fails on the first real
deploy. So the local stack reads the role the template gives each function (its `Policies`, the
managed policies they name, and role policies attached to the role SAM generates for it) and each
worker refuses, as AWS would, any call the role does not allow.

What is emulated: identity-based Allow and Deny statements, matched on action and resource with
IAM's `*` and `?` wildcards, and their conditions on the keys this module reads from a call
(`CONDITION_KEYS`: what a listing asks for) with the string and `Null` operators. What is not:
conditions on any other key or with other operators (they apply as if they held), resource policies
(bucket and key policies can only take away), and presigned URLs (the browser's request reaches moto
directly). KMS keys are matched by action only: the local key ids are moto's.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from payreq_local.intrinsics import ACCOUNT_ID, PARTITION, REGION, Resolver, TemplateError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import boto3.session
    from botocore.model import OperationModel

ENVIRONMENT_VARIABLE = "PAYREQ_LOCAL_ROLE_POLICY"

_MANAGEMENT_API = ("PostToConnection", "GetConnection", "DeleteConnection")
# Where IAM's action is not `<service>:<operation>` for the calls the functions make.
_ACTION_OF = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    **{("execute-api", operation): "execute-api:ManageConnections" for operation in _MANAGEMENT_API},
}
# A versioned read needs the `...Version` action (S3 checks it instead of the plain one).
_VERSIONED = {"s3:GetObject": "s3:GetObjectVersion"}
# JSON-protocol services name the refusal differently from S3 and SQS.
_DENIED_CODE = {"kms": "AccessDeniedException", "secretsmanager": "AccessDeniedException"}
_ANY_KMS_KEY = f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT_ID}:key/*"
# The condition keys read from a call, by IAM action, and the parameter each comes from.
CONDITION_KEYS: dict[str, dict[str, str]] = {
    action: {"s3:prefix": "Prefix", "s3:delimiter": "Delimiter", "s3:max-keys": "MaxKeys"}
    for action in ("s3:ListBucket", "s3:ListBucketVersions")
}
# A call's condition keys and their values; None: the request has no such key.
CallContext = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class Condition:
    """One `Condition` entry, e.g. `StringLike: {s3:prefix: anchors/*}`."""

    operator: str
    key: str  # lower case: IAM's keys are
    values: tuple[str, ...]

    def holds(self, context: CallContext) -> bool:
        if self.key not in context:
            return True  # a key the emulation does not read: as if it held
        value = context[self.key]
        operator = self.operator.removesuffix("IfExists")
        if operator == "Null":
            return (value is None) == (self.values[0].lower() == "true")
        if value is None:
            # IAM: a missing key fails a condition, but for `...IfExists` and the negated operators.
            return operator != self.operator or operator.startswith("StringNot")
        if operator in ("StringEquals", "StringNotEquals"):
            matched = value in self.values
        elif operator in ("StringLike", "StringNotLike"):
            matched = any(fnmatch.fnmatchcase(value, pattern) for pattern in self.values)
        else:
            return True  # an operator the emulation does not evaluate: as if it held
        return matched != operator.startswith("StringNot")


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()

    def covers(self, action: str, resource: str | None, context: CallContext | None = None) -> bool:
        if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions):
            return False
        # A call whose resource cannot be named is judged on its action alone.
        if resource is not None and not any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources):
            return False
        return all(condition.holds(context or {}) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class RolePolicy:
    """The statements of one function's role: a call is allowed if one allows it and none denies it."""

    role: str
    statements: tuple[Statement, ...]

    def allows(self, action: str, resource: str | None, context: CallContext | None = None) -> bool:
        matching = [statement for statement in self.statements if statement.covers(action, resource, context)]
        return bool(matching) and all(statement.effect == "Allow" for statement in matching)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RolePolicy:
        data = json.loads(text)
        statements = tuple(
            Statement(
                item["effect"],
                tuple(item["actions"]),
                tuple(item["resources"]),
                tuple(Condition(c["operator"], c["key"], tuple(c["values"])) for c in item["conditions"]),
            )
            for item in data["statements"]
        )
        return cls(data["role"], statements)


# ---------------------------------------------------------------------- reading the template


def role_policy(template: Mapping[str, Any], resolver: Resolver, function: str) -> RolePolicy:
    """The role SAM generates for `function`, as the template defines it."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    properties = resources[function].get("Properties") or {}
    if "Role" in properties:
        raise TemplateError(f"{function}.Role: a role of its own is not read locally; give it Policies")
    resolver = _with_kms_keys(resolver, resources)
    documents = [
        *(_policy_item(item, resolver, resources, f"{function}.Policies") for item in _listed(properties, resolver)),
        *_attached_to_role(f"{function}Role", resolver, resources),
    ]
    statements = tuple(statement for document in documents for statement in _statements(document, function))
    return RolePolicy(f"{function}Role", statements)


def _listed(properties: Mapping[str, Any], resolver: Resolver) -> list[Any]:
    policies = properties.get("Policies") or []
    resolved = resolver.resolve(policies if isinstance(policies, list) else [policies], "Policies")
    return list(resolved)


def _with_kms_keys(resolver: Resolver, resources: Mapping[str, Any]) -> Resolver:
    keys = {
        (logical_id, "Arn"): _ANY_KMS_KEY
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::KMS::Key"
    }
    return dataclasses.replace(resolver, resource_attributes={**resolver.resource_attributes, **keys})


def _policy_item(item: Any, resolver: Resolver, resources: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    if isinstance(item, dict) and "Statement" in item:
        return item
    if isinstance(item, str):
        # `!Ref` of a managed policy in the template resolves to its local name.
        for logical_id, resource in resources.items():
            if resource.get("Type") == "AWS::IAM::ManagedPolicy" and resolver.local_name(logical_id) == item:
                document: Mapping[str, Any] = resolver.resolve(
                    resource["Properties"]["PolicyDocument"], f"{logical_id}.PolicyDocument"
                )
                return document
    raise TemplateError(f"{where}: {item!r} is not a policy the local stack can read (inline or in the template)")


def _attached_to_role(role: str, resolver: Resolver, resources: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Policies the template attaches to the generated role itself (`RoleName`/`Roles: [!Ref <Fn>Role]`)."""
    reference = {"Ref": role}
    attached = []
    for logical_id, resource in resources.items():
        if resource.get("Type") not in {"AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            continue
        properties = resource.get("Properties") or {}
        if properties.get("RoleName") == reference or reference in (properties.get("Roles") or []):
            attached.append(resolver.resolve(properties["PolicyDocument"], f"{logical_id}.PolicyDocument"))
    return attached


def _statements(document: Mapping[str, Any], function: str) -> list[Statement]:
    listed = document.get("Statement") or []
    statements = []
    for item in listed if isinstance(listed, list) else [listed]:
        if "NotAction" in item or "NotResource" in item:
            raise TemplateError(f"{function}: NotAction / NotResource are not emulated locally")
        statements.append(
            Statement(
                str(item["Effect"]),
                _strings(item["Action"]),
                _strings(item["Resource"]),
                _conditions(item.get("Condition") or {}),
            )
        )
    return statements


def _conditions(block: Mapping[str, Mapping[str, Any]]) -> tuple[Condition, ...]:
    return tuple(
        Condition(operator, key.lower(), _strings(values))
        for operator, by_key in block.items()
        for key, values in by_key.items()
    )


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else (str(value),)


# ---------------------------------------------------------------------- judging a call


def action_of(service: str, operation: str, params: Mapping[str, Any]) -> str:
    action = _ACTION_OF.get((service, operation), f"{service}:{operation}")
    if params.get("VersionId"):
        action = _VERSIONED.get(action, action)
    return action


def context_of(action: str, params: Mapping[str, Any]) -> CallContext:
    """The condition keys of a call that this emulation reads (`CONDITION_KEYS`), with their values."""
    keys = CONDITION_KEYS.get(action, {})
    return {key: None if params.get(name) is None else str(params[name]) for key, name in keys.items()}


def resource_of(service: str, params: Mapping[str, Any], region: str = REGION) -> str | None:
    """The ARN IAM would check for a call, for the services the functions use; None if not named here."""
    if service == "s3" and "Bucket" in params:
        key = params.get("Key")
        return f"arn:{PARTITION}:s3:::{params['Bucket']}" + (f"/{key}" if key is not None else "")
    if service == "sqs" and "QueueUrl" in params:
        name = urlsplit(str(params["QueueUrl"])).path.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:{PARTITION}:sqs:{region}:{ACCOUNT_ID}:{name}"
    if service == "kms":
        return _ANY_KMS_KEY.replace("*", "local")
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        return (
            secret
            if secret.startswith("arn:")
            else f"arn:{PARTITION}:secretsmanager:{region}:{ACCOUNT_ID}:secret:{secret}"
        )
    return None


def install_from_environment() -> RolePolicy | None:
    """In a worker, before the handler is imported: refuse the AWS calls the function's role does not allow.

    The hook goes on boto3's default session, which every client the function builds comes from
    (`payreq.aws.client`); registered before any client exists, each client inherits it.
    """
    text = os.environ.get(ENVIRONMENT_VARIABLE)
    if not text:
        return None
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    policy = RolePolicy.from_json(text)
    guard(boto3.DEFAULT_SESSION, policy, os.environ.get("AWS_REGION", REGION))
    return policy


def guard(session: boto3.session.Session, policy: RolePolicy, region: str = REGION) -> None:
    """Make the clients `session` builds from now on refuse what `policy` does not allow."""
    from botocore.exceptions import ClientError

    def judge(params: Mapping[str, Any], model: OperationModel, context: Mapping[str, Any], **_: Any) -> None:
        if context.get("is_presign_request"):
            return  # signing a URL calls nothing: AWS judges the request when the browser makes it
        service = model.service_model.signing_name
        action, resource = action_of(service, model.name, params), resource_of(service, params, region)
        if not policy.allows(action, resource, context_of(action, params)):
            raise ClientError(refusal(service, model.name, action, resource, policy.role), model.name)  # type: ignore[arg-type]

    session.events.register("before-parameter-build", judge)


def refusal(service: str, operation: str, action: str, resource: str | None, role: str) -> dict[str, Any]:
    """The error response AWS gives a call its role does not allow (botocore's parsed shape)."""
    target = f" on resource: {resource}" if resource else ""
    return {
        "Error": {
            "Code": _DENIED_CODE.get(service, "AccessDenied"),
            "Message": f"User: {role} is not authorized to perform: {action}{target} "
            "because no identity-based policy allows the action (payreq local: template.yaml grants it no such "
            f"permission for {operation})",
        },
        "ResponseMetadata": {"HTTPStatusCode": 403},
    }
