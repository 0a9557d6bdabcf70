"""`make complexity` fails on a function above radon's rank C, unless the allowlist names it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import check_complexity

if TYPE_CHECKING:
    from pathlib import Path


def _branching(name: str, branches: int) -> str:
    """A function of cyclomatic complexity branches + 1."""
    body = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(branches))
    return f"def {name}(x):\n{body}    return -1\n\n\n"


def test_a_function_of_rank_d_is_an_offender_and_one_of_rank_c_is_not(tmp_path: Path) -> None:
    # Given a module with a function of complexity 21 (rank D) and one of 20 (rank C)
    source = tmp_path / "tangled.py"
    source.write_text(_branching("tangled", 20) + _branching("knotted", 19))

    # When the check reads it
    found = check_complexity.offenders([source], root=tmp_path)

    # Then only the rank D one is reported, with its complexity
    assert found == {"tangled.py:tangled": 21}


def test_the_allowlist_ignores_comments_and_blank_lines(tmp_path: Path) -> None:
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("# must be empty\n\nfunctions/a/a_api/x.py:f  # being fixed\n")

    assert check_complexity.allowed(allowlist) == {"functions/a/a_api/x.py:f"}


def test_the_product_code_has_no_offender_beyond_the_allowlist() -> None:
    found = check_complexity.offenders(check_complexity.sources())

    assert set(found) - check_complexity.allowed() == set()
