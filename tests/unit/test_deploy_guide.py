"""docs/deploy.md keeps up with what it documents: every template parameter is described, and the
commands it shows name real CLI commands, make targets, samconfig environments and resources."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest

from payreq_cli import build_parser
from payreq_local.template import ROOT, load_template

GUIDE = (ROOT / "docs" / "deploy.md").read_text()
TEMPLATE = load_template()
SHELL_LINES = [
    line
    for block in re.findall(r"```sh\n(.*?)```", GUIDE, flags=re.DOTALL)
    for line in block.replace("\\\n", " ").splitlines()
]


def test_every_template_parameter_is_described_once() -> None:
    table = GUIDE.split("## 2. Template parameters", 1)[1].split("\n## ", 1)[0]
    described = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)

    assert sorted(described) == sorted(TEMPLATE["Parameters"])


def _commands(program: str) -> list[list[str]]:
    found = []
    for line in SHELL_LINES:
        words = shlex.split(re.sub(r"<[^>]*>", "x", line.split("$(", 1)[-1].rstrip(")")))
        found += [words[index + 1 :] for index, word in enumerate(words) if word.endswith(program)]
    return found


@pytest.mark.parametrize("argv", _commands("payreq"), ids=" ".join)
def test_each_payreq_command_shown_parses(argv: list[str]) -> None:
    build_parser().parse_args(argv)


def test_the_sam_commands_name_real_environments_and_functions() -> None:
    environments = set(tomllib.loads((ROOT / "samconfig.toml").read_text()))
    sam = _commands("sam")

    assert {"build", "deploy", "remote"} <= {argv[0] for argv in sam}
    for argv in sam:
        if "--config-env" in argv:
            assert argv[argv.index("--config-env") + 1] in environments, argv
        if argv[:2] == ["remote", "invoke"]:
            assert argv[2] in TEMPLATE["Resources"], argv


def test_the_make_targets_mentioned_exist() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    mentioned = set(re.findall(r"`make ([a-z-]+)[` ]", GUIDE)) | {argv[0] for argv in _commands("make")}

    assert {"deploy", "destroy", "template-check"} <= mentioned <= targets


def test_the_guide_walks_from_an_empty_account_with_make_deploy_and_back_with_make_destroy() -> None:
    assert ["deploy", "ENV=dev"] in _commands("make")
    assert ["destroy", "ENV=dev"] in _commands("make")


def test_every_environment_setting_is_described() -> None:
    table = GUIDE.split("## 1. From an empty account", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (`[^|]+) \|", table, flags=re.MULTILINE)
    described = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    settings = set(tomllib.loads((ROOT / "infra" / "dev.example.toml").read_text()))

    assert settings <= described


@pytest.mark.parametrize(
    "argv", [argv for argv in _commands("aws") if argv[:2] == ["cloudformation", "deploy"]], ids=" ".join
)
def test_each_stack_deployed_by_hand_gets_only_its_templates_parameters(argv: list[str]) -> None:
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / argv[argv.index("--template-file") + 1]).read_text())
    overrides = argv[argv.index("--parameter-overrides") + 1 :]
    given = {override.split("=", 1)[0] for override in overrides}

    assert given <= set(template["Parameters"])
    assert {name for name, parameter in template["Parameters"].items() if "Default" not in parameter} <= given
