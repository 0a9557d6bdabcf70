"""`payreq openapi export` and `payreq events generate`: the checked-in files match their sources,
and drift is named."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from payreq_cli import main as payreq
from payreq_local.event_files import event_files, generate

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_the_checked_in_files_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert payreq(["events", "generate", "--check"]) == 0
    assert payreq(["openapi", "export", "--check"]) == 0

    out = capsys.readouterr().out
    assert "events/ is up to date" in out and "openapi.json is up to date" in out


def test_generating_twice_writes_the_same_files(tmp_path: Path) -> None:
    assert generate(directory=tmp_path / "a") == 0
    assert generate(directory=tmp_path / "b") == 0

    first = {path.name: path.read_text() for path in (tmp_path / "a").iterdir()}
    assert first == {path.name: path.read_text() for path in (tmp_path / "b").iterdir()}
    assert "http_post_api_v1_prs.json" in first and "websocket_connect.json" in first


def test_check_names_a_changed_file_and_a_file_nothing_generates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given generated events, one edited by hand and one the template has no route for
    generate(directory=tmp_path)
    edited = tmp_path / "http_get_api_v1_me.json"
    edited.write_text(json.dumps({**json.loads(edited.read_text()), "rawPath": "/api/v1/you"}))
    (tmp_path / "http_get_api_v1_gone.json").write_text("{}")
    capsys.readouterr()

    assert generate(check=True, directory=tmp_path) == 1

    error = capsys.readouterr().err
    assert "http_get_api_v1_me.json differs" in error and "http_get_api_v1_gone.json is not generated" in error
    # And generating again puts it right
    assert generate(directory=tmp_path) == 0
    assert generate(check=True, directory=tmp_path) == 0


def test_every_sample_body_and_query_belongs_to_a_route_of_the_template() -> None:
    from payreq_local.event_files import BODIES, QUERIES

    routes = {sample.event.get("routeKey") for sample in event_files()}

    assert set(BODIES) - routes == set()
    assert set(QUERIES) - routes == set()
