"""The local stack resolves the template's intrinsics itself, and refuses what it cannot resolve."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from payreq_local.intrinsics import Resolver, TemplateError, referenced_resources
from payreq_local.template import _CloudFormationLoader

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  DbPort: {Type: Number, Default: 5432}
  Origins: {Type: CommaDelimitedList, Default: "http://a.test,http://b.test"}
  Required: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Mappings:
  Sizes: {local: {memory: 256}}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "payreq-${Stage}-files-${AWS::AccountId}"}
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "payreq-${Stage}-jobs"}
  Fn:
    Type: AWS::Serverless::Function
  Api:
    Type: AWS::ApiGatewayV2::Api
"""


def resolver(**parameters: Any) -> Resolver:
    template = yaml.load(TEMPLATE, Loader=_CloudFormationLoader)
    return Resolver(template, {"Stage": "local", **parameters})


def resolve(expression: str, **parameters: Any) -> Any:
    return resolver(**parameters).resolve(yaml.load(expression, Loader=_CloudFormationLoader), "test")


def test_parameters_take_local_values_then_defaults() -> None:
    assert resolve("!Ref Stage") == "local"
    assert resolve("!Ref DbPort") == 5432
    assert resolve("!Ref Origins") == ["http://a.test", "http://b.test"]


def test_sub_with_pseudo_parameters_resource_names_and_attributes() -> None:
    assert resolve("!Sub https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}") == (
        "https://api.execute-api.us-east-1.amazonaws.com/local"
    )
    assert resolve("!Sub ${Bucket.Arn}/*") == "arn:aws:s3:::payreq-local-files-123456789012/*"
    assert resolve("!GetAtt Fn.Arn") == "arn:aws:lambda:us-east-1:123456789012:function:payreq-local-Fn"
    assert resolve("!Sub ['${x}-${!Literal}', {x: !Ref Stage}]") == "local-${Literal}"


def test_resources_resolve_to_local_names() -> None:
    assert resolve("!Ref Bucket") == "payreq-local-files-123456789012"
    assert resolve("!GetAtt Queue.Arn") == "arn:aws:sqs:us-east-1:123456789012:payreq-local-jobs"


def test_the_stack_can_name_resources_itself() -> None:
    template = yaml.load(TEMPLATE, Loader=_CloudFormationLoader)
    local = Resolver(template, {"Stage": "local"}, resource_names={"Queue": "http://127.0.0.1:4566/123456789012/q"})

    assert local.resolve({"Ref": "Queue"}, "test") == "http://127.0.0.1:4566/123456789012/q"


def test_conditions_and_list_functions() -> None:
    assert resolve("!If [IsProd, big, small]") == "small"
    assert resolve("!If [NotProd, kept, dropped]") == "kept"
    assert resolve("[a, !If [IsProd, b, !Ref AWS::NoValue], c]") == ["a", "c"]
    assert resolve("!Join [',', !Ref Origins]") == "http://a.test,http://b.test"
    assert resolve("!Select [1, !Split ['-', a-b-c]]") == "b"
    assert resolve("!FindInMap [Sizes, local, memory]") == 256


def test_environment_values_become_strings_as_in_cloudformation() -> None:
    local = resolver()

    assert local.resolve_string({"Ref": "DbPort"}, "DB_PORT") == "5432"
    assert local.resolve_string(True, "FLAG") == "true"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("!Ref Required", "parameter 'Required' has no default"),
        ("!Ref Nowhere", "unknown parameter or resource 'Nowhere'"),
        ("!ImportValue shared-vpc", "Fn::ImportValue cannot be resolved locally"),
        ("!GetAtt Fn.SnapStartVersion", "Fn.SnapStartVersion"),
        ("!Sub ${Origins}", "not a single value"),
    ],
)
def test_what_cannot_be_resolved_fails_with_where_it_was_met(expression: str, message: str) -> None:
    with pytest.raises(TemplateError, match=r"^test: ") as failure:
        resolve(expression)

    assert message in str(failure.value)


def test_references_are_found_without_resolving() -> None:
    value = yaml.load(
        "!Sub arn:aws:apigateway:${AWS::Region}:lambda:path/functions/${Fn.Arn}/invocations",
        Loader=_CloudFormationLoader,
    )

    assert referenced_resources(value) == {"Fn"}
    assert referenced_resources({"Fn::GetAtt": ["Queue", "Arn"]}) == {"Queue"}
