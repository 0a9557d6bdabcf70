"""Each template through the transform CloudFormation will apply to it, offline (`make infra-translate`).

`sam validate --lint` and cfn-lint check a template as written; this runs SAM's own translator (the
code behind `Transform: AWS::Serverless-2016-10-31`) and fails on anything it refuses, then checks
that what comes out is plain CloudFormation whose every Ref and GetAtt names a resource, parameter or
pseudo parameter of the result. A template without the SAM transform is checked the same way as is
(network-db.yaml's SecretsManager transform only expands HostedRotationLambda, server-side).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

SAM = "AWS::Serverless-2016-10-31"
PSEUDO = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}


class OfflinePolicies:
    """The translator asks IAM for AWS managed policy ARNs by name; these templates name none."""

    def load(self) -> dict[str, str]:
        return {}


def references(value: Any) -> list[str]:
    """Every name a Ref, GetAtt or ${...} in Sub points at."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.append(argument)
            elif key == "Fn::GetAtt":
                found.append(argument[0] if isinstance(argument, list) else str(argument).split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    if name not in variables:
                        found.append(name.split(".")[0])
                found += references(variables)
            else:
                found += references(argument)
    elif isinstance(value, list):
        for item in value:
            found += references(item)
    return found


def packaged(template: dict[str, Any]) -> None:
    """Local code folders as `sam package` leaves them: S3 URIs (the translator accepts nothing else)."""
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://payreq-artifacts/{properties[key].strip('/')}.zip"


def check(path: Path) -> str:
    template = yaml_parse(path.read_text())
    transforms = template.get("Transform") or []
    transforms = [transforms] if isinstance(transforms, str) else transforms
    if SAM in transforms:
        packaged(template)
        template = transform(template, {}, OfflinePolicies())
        serverless = sorted(
            name for name, resource in template["Resources"].items() if resource["Type"].startswith("AWS::Serverless")
        )
        if serverless:
            raise SystemExit(f"{path}: left untranslated: {serverless}")
    known = set(template.get("Resources", {})) | set(template.get("Parameters", {})) | PSEUDO
    dangling = sorted(set(references(template.get("Resources", {})) + references(template.get("Outputs", {}))) - known)
    if dangling:
        raise SystemExit(f"{path}: references to nothing: {dangling}")
    kind = "SAM, translated" if SAM in transforms else "CloudFormation"
    return f"{path}: {kind}, {len(template['Resources'])} resources, every reference resolves"


def main(paths: list[str]) -> int:
    for name in paths:
        try:
            print(check(Path(name)))
        except InvalidDocumentException as error:
            print(f"{name}: SAM refuses it:", *(cause.message for cause in error.causes), sep="\n  ", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
