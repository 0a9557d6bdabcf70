"""Reads template.yaml: the one routing table, which the local stack never duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Accepts CloudFormation's short-form intrinsics (!Ref, !Sub, ...) as plain values."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"Fn::{suffix}" if suffix not in {"Ref", "Condition"} else suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as stream:
        return yaml.load(stream, Loader=_CloudFormationLoader)  # type: ignore[no-any-return]


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    specs = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        specs.append(FunctionSpec(name, ROOT / properties["CodeUri"], properties["Handler"]))
    return specs
