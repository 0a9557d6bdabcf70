"""The arrows between the code's parts point one way: functions use the layer, never the reverse.

The layer ships to every Lambda: it must import nothing from the functions, the local stack or the
operator CLI (none of which is there). Each function is built alone, with the layer: it must import
nothing from another function, the local stack or the CLI. Every import counts, including those
inside a function body or under TYPE_CHECKING, since each is an arrow someone will one day follow.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared" / "payreq"
# Every function's package: functions/<function>/<name>_api, whatever functions are added later.
FUNCTION_PACKAGES = {package.name: package for package in sorted(ROOT.glob("functions/*/*_api")) if package.is_dir()}
LOCAL_STACK = "payreq_local"
CLI = "payreq_cli"


@dataclass(frozen=True)
class Import:
    module: Path
    line: int
    name: str  # the imported module's top-level package

    def __str__(self) -> str:
        return f"{self.module.relative_to(ROOT)}:{self.line} imports {self.name}"


def imports_of(package: Path) -> list[Import]:
    """Every absolute import of every module under `package` (relative ones stay inside it)."""
    found = []
    for module in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
            if isinstance(node, ast.Import):
                found += [Import(module, node.lineno, alias.name.split(".")[0]) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append(Import(module, node.lineno, node.module.split(".")[0]))
    return found


def forbidden_imports(package: Path, forbidden: set[str]) -> list[str]:
    return [str(each) for each in imports_of(package) if each.name in forbidden]


def test_the_function_packages_are_found() -> None:
    # Without them the checks below would pass by checking nothing.
    assert {"pr_api", "invoice_api", "payment_api", "auth_api", "audit_api", "sync_api"} <= set(FUNCTION_PACKAGES)


def test_the_imports_of_a_module_are_read_wherever_they_are(tmp_path: Path) -> None:
    # Given a module importing at the top, inside a function and under TYPE_CHECKING
    (tmp_path / "module.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import pr_api.flows\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from payreq_cli.demo import DemoSeed\n"
        "def later():\n"
        "    from payreq_local import seed\n"
    )

    # When its imports are read
    names = {(each.line, each.name) for each in imports_of(tmp_path)}

    # Then each absolute one is there, with its line
    assert names == {(1, "typing"), (2, "pr_api"), (5, "payreq_cli"), (7, "payreq_local")}


def test_the_layer_imports_nothing_from_the_functions_the_local_stack_or_the_cli() -> None:
    assert forbidden_imports(LAYER, {*FUNCTION_PACKAGES, LOCAL_STACK, CLI}) == []


@pytest.mark.parametrize("name", sorted(FUNCTION_PACKAGES))
def test_a_function_imports_nothing_from_another_function_the_local_stack_or_the_cli(name: str) -> None:
    others = set(FUNCTION_PACKAGES) - {name}
    assert forbidden_imports(FUNCTION_PACKAGES[name], {*others, LOCAL_STACK, CLI}) == []
