"""CloudFormation intrinsic functions, resolved for a local run.

The template is the one source of truth, so the local stack evaluates its `!Ref`, `!GetAtt`,
`!Sub`, `!If`, ... instead of keeping a second copy of the values. Parameters take their local
value (or their default), pseudo parameters describe a fixed fake account, and resources resolve to
the local names the stack gives them. Anything that cannot be resolved raises `TemplateError`
naming where it was met, so a template the local stack does not understand fails at start-up, not
on the first request that needs the value.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

ACCOUNT_ID = "123456789012"  # moto's default account: ARNs built here match the ones moto hands out
REGION = "us-east-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
STACK_NAME = "payreq-local"


class TemplateError(Exception):
    """The template asks for something the local stack cannot provide."""


class _NoValue:
    """`!Ref AWS::NoValue`: the property or list item is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class Resolver:
    """Evaluates intrinsics against one template.

    `parameters` are the local values that win over the template's defaults; `resource_names`
    (logical id -> Ref value) and `resource_attributes` ((logical id, attribute) -> value) let the
    stack say what its local resources are called, e.g. an SQS queue's URL on moto.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    resource_names: Mapping[str, Any] = field(default_factory=dict)
    resource_attributes: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    stack_name: str = STACK_NAME
    region: str = REGION
    account_id: str = ACCOUNT_ID

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic evaluated; `where` names it in error messages."""
        resolved = self._resolve(value, where)
        if resolved is NO_VALUE:
            raise TemplateError(f"{where}: resolves to AWS::NoValue")
        return resolved

    def resolve_string(self, value: Any, where: str) -> str:
        """As a Lambda environment variable: CloudFormation turns numbers and booleans into text."""
        resolved = self.resolve(value, where)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, str | int | float):
            return str(resolved)
        raise TemplateError(f"{where}: expected a string, got {resolved!r}")

    def condition(self, name: str, where: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"{where}: unknown condition {name!r}")
        return self._truth(conditions[name], f"{where} (condition {name})")

    # ------------------------------------------------------------------ evaluation

    def _resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item, where) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument, where)
            if key == "Condition":
                return self.condition(argument, where)
            if key.startswith("Fn::"):
                return self._function(key, argument, where)
        resolved = {key: self._resolve(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any, where: str) -> Any:
        if name in {"Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"}:
            return self._truth({name: argument}, where)
        handlers: dict[str, Callable[[Any, str], Any]] = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": lambda _argument, _where: [f"{self.region}{zone}" for zone in "abc"],
        }
        handler = handlers.get(name)
        if handler is None:
            raise TemplateError(f"{where}: {name} cannot be resolved locally")
        return handler(argument, where)

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref needs a name, got {name!r}")
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self._parameter_value(name, self.parameters[name])
        declared = (self.template.get("Parameters") or {}).get(name)
        if declared is not None:
            if "Default" not in declared:
                raise TemplateError(
                    f"{where}: parameter {name!r} has no default and no local value "
                    f"(give one with --parameter-overrides {name}=...)"
                )
            return self._parameter_value(name, declared["Default"])
        resources = self.template.get("Resources") or {}
        if name in resources:
            if name in self.resource_names:
                return self.resource_names[name]
            return self.local_name(name)
        alias = self._published_alias(name)
        if alias is not None:
            return alias
        raise TemplateError(f"{where}: Ref to unknown parameter or resource {name!r}")

    def _published_alias(self, name: str) -> str | None:
        """SAM's alias of a function with AutoPublishAlias, referenced as `<Function>.Alias` or by its
        generated id `<Function>Alias<alias>`: locally, the function's ARN qualified with the alias."""
        resources = self.template.get("Resources") or {}
        globals_ = ((self.template.get("Globals") or {}).get("Function")) or {}
        for logical_id, resource in resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            alias = (resource.get("Properties") or {}).get("AutoPublishAlias", globals_.get("AutoPublishAlias"))
            if alias is None:
                continue
            alias = str(self._resolve(alias, f"{logical_id}.AutoPublishAlias"))
            if name in (f"{logical_id}.Alias", f"{logical_id}Alias{alias}"):
                return f"{self.attribute(logical_id, 'Arn', name)}:{alias}"
        return None

    def _parameter_value(self, name: str, value: Any) -> Any:
        declared = (self.template.get("Parameters") or {}).get(name) or {}
        kind = str(declared.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            if isinstance(value, list):
                return [str(item) for item in value]
            return [item.strip() for item in str(value).split(",")] if str(value) else []
        return value

    def _pseudo(self, name: str) -> Any:
        pseudo: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        return pseudo.get(name)

    def local_name(self, logical_id: str) -> str:
        """What `!Ref` of a resource means locally: its explicit name if it has one, else a stable one."""
        resource = (self.template.get("Resources") or {})[logical_id]
        properties = resource.get("Properties") or {}
        explicit = {
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::ApiGatewayV2::Stage": "StageName",
        }.get(resource.get("Type", ""))
        if explicit and explicit in properties:
            return str(self.resolve(properties[explicit], f"{logical_id}.{explicit}"))
        if resource.get("Type") == "AWS::S3::Bucket":
            # Bucket names are lowercase; CloudFormation's generated ones are too.
            return f"{self.stack_name}-{logical_id}".lower()
        if resource.get("Type") in {"AWS::ApiGatewayV2::Api", "AWS::Serverless::HttpApi"}:
            # API ids are lowercase words (AWS makes 10 random characters); this one reads well in events.
            return logical_id.lower()
        return f"{self.stack_name}-{logical_id}"

    def _get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        elif isinstance(argument, list) and len(argument) == 2:
            logical_id, attribute = str(argument[0]), str(self._resolve(argument[1], where))
        else:
            raise TemplateError(f"{where}: malformed Fn::GetAtt {argument!r}")
        return self.attribute(logical_id, attribute, where)

    def attribute(self, logical_id: str, attribute: str, where: str) -> Any:
        if (logical_id, attribute) in self.resource_attributes:
            return self.resource_attributes[(logical_id, attribute)]
        resource = (self.template.get("Resources") or {}).get(logical_id)
        if resource is None:
            raise TemplateError(f"{where}: Fn::GetAtt of unknown resource {logical_id!r}")
        kind = resource.get("Type", "")
        name = self._ref(logical_id, where)
        arn_prefix = f"arn:{PARTITION}"
        arns = {
            "AWS::Serverless::Function": f"{arn_prefix}:lambda:{self.region}:{self.account_id}:function:{name}",
            "AWS::Lambda::Function": f"{arn_prefix}:lambda:{self.region}:{self.account_id}:function:{name}",
            "AWS::S3::Bucket": f"{arn_prefix}:s3:::{name}",
            "AWS::Logs::LogGroup": f"{arn_prefix}:logs:{self.region}:{self.account_id}:log-group:{name}:*",
            "AWS::IAM::Role": f"{arn_prefix}:iam::{self.account_id}:role/{name}",
        }
        if kind == "AWS::SQS::Queue":
            queue_name = self.local_name(logical_id)
            values = {
                "Arn": f"{arn_prefix}:sqs:{self.region}:{self.account_id}:{queue_name}",
                "QueueName": queue_name,
                "QueueUrl": name,
            }
            if attribute in values:
                return values[attribute]
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if kind == "AWS::S3::Bucket" and attribute in {"DomainName", "RegionalDomainName"}:
            return f"{name}.s3.{self.region}.{URL_SUFFIX}"
        if kind in {"AWS::ApiGatewayV2::Api", "AWS::Serverless::HttpApi"} and attribute == "ApiId":
            return name
        raise TemplateError(f"{where}: Fn::GetAtt {logical_id}.{attribute} ({kind}) cannot be resolved locally")

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            text, variables = argument[0], self._resolve(argument[1], where)
        else:
            raise TemplateError(f"{where}: malformed Fn::Sub {argument!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the escape for a literal ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                value = self.attribute(logical_id, attribute, where)
            else:
                value = self._ref(name, where)
            if isinstance(value, list | dict) or value is NO_VALUE:
                raise TemplateError(f"{where}: ${{{name}}} in Fn::Sub is not a single value")
            return str(value)

        return _SUB_VARIABLE.sub(replace, text)

    def _join(self, argument: Any, where: str) -> str:
        delimiter, items = self._pair(argument, "Fn::Join", where)
        values = self._resolve(items, where)
        if not isinstance(values, list):
            raise TemplateError(f"{where}: Fn::Join needs a list, got {values!r}")
        return str(delimiter).join(str(item) for item in values)

    def _select(self, argument: Any, where: str) -> Any:
        index, items = self._pair(argument, "Fn::Select", where)
        values = self._resolve(items, where)
        position = int(self._resolve(index, where))
        if not isinstance(values, list) or not 0 <= position < len(values):
            raise TemplateError(f"{where}: Fn::Select index {position} out of range for {values!r}")
        return values[position]

    def _split(self, argument: Any, where: str) -> list[str]:
        delimiter, text = self._pair(argument, "Fn::Split", where)
        return str(self._resolve(text, where)).split(str(delimiter))

    def _if(self, argument: Any, where: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError(f"{where}: malformed Fn::If {argument!r}")
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(str(name), where) else when_false, where)

    def _find_in_map(self, argument: Any, where: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError(f"{where}: malformed Fn::FindInMap {argument!r}")
        map_name, top, second = (self._resolve(part, where) for part in argument)
        try:
            return self._resolve(self.template["Mappings"][map_name][top][second], where)
        except KeyError as missing:
            raise TemplateError(f"{where}: Fn::FindInMap found no {missing}") from None

    def _base64(self, argument: Any, where: str) -> str:
        return base64.b64encode(str(self._resolve(argument, where)).encode()).decode()

    def _truth(self, value: Any, where: str) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::Equals":
                left, right = self._pair(argument, key, where)
                return bool(self._resolve(left, where) == self._resolve(right, where))
            if key == "Fn::And":
                return all(self._truth(item, where) for item in argument)
            if key == "Fn::Or":
                return any(self._truth(item, where) for item in argument)
            if key == "Fn::Not":
                (inner,) = argument
                return not self._truth(inner, where)
            if key == "Condition":
                return self.condition(str(argument), where)
        resolved = self._resolve(value, where)
        if isinstance(resolved, bool):
            return resolved
        raise TemplateError(f"{where}: {value!r} is not a condition")

    @staticmethod
    def _pair(argument: Any, name: str, where: str) -> tuple[Any, Any]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError(f"{where}: malformed {name} {argument!r}")
        return argument[0], argument[1]


def referenced_resources(value: Any) -> set[str]:
    """Logical ids a value points at through Ref, Fn::GetAtt or ${...} in Fn::Sub, without resolving."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_resources(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found |= {argument, *_alias_owners(argument)}
            elif key == "Fn::GetAtt":
                found.add(argument.split(".", 1)[0] if isinstance(argument, str) else str(argument[0]))
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                for name in _SUB_VARIABLE.findall(text):
                    if not name.startswith(("!", "AWS::")):
                        found |= {name.split(".", 1)[0], *_alias_owners(name)}
                if isinstance(argument, list):
                    found |= referenced_resources(argument[1])
            else:
                found |= referenced_resources(argument)
    return found


def _alias_owners(name: str) -> set[str]:
    """The function a SAM alias reference may belong to: `Fn.Alias`, or the generated `FnAlias<alias>`."""
    owner = re.sub(r"(\.Alias|Alias[A-Za-z0-9]+)$", "", name)
    return {owner} if owner != name else set()
