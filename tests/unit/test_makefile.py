"""`make help` is the list of the daily commands: every target of the Makefile is on it."""

from __future__ import annotations

import re
import subprocess

from payreq_local.template import ROOT


def test_make_help_lists_every_target_with_what_it_does() -> None:
    targets = re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)

    listed = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True)

    described = dict(re.findall(r"^  make (\S+)\s+(.+)$", listed.stdout, flags=re.MULTILINE))
    assert set(described) == set(targets)
