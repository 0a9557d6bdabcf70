"""HTTP API route selection: the most specific route wins, as in API Gateway."""

from __future__ import annotations

import pytest

from payreq_local.routing import RouteTable, match_path
from payreq_local.template import HttpRoute


def table(*keys: str) -> RouteTable[HttpRoute]:
    routes = []
    for key in keys:
        method, _, path = key.partition(" ")
        routes.append(HttpRoute(method, path or "$default", function=key, authorizer=None))
    return RouteTable(routes)


def chosen(routes: RouteTable[HttpRoute], method: str, path: str) -> tuple[str, dict[str, str]] | None:
    found = routes.match(method, path)
    return None if found is None else (found.route.function, found.path_parameters)


@pytest.mark.parametrize(
    ("pattern", "path", "parameters"),
    [
        ("/prs", "/prs", {}),
        ("/prs/{id}", "/prs/42", {"id": "42"}),
        ("/prs/{id}/approve", "/prs/42/approve", {"id": "42"}),
        ("/files/{proxy+}", "/files/a/b/c.pdf", {"proxy": "a/b/c.pdf"}),
        ("/prs/{id}", "/prs/42/approve", None),
        ("/prs/{id}", "/prs/", None),
        ("/files/{proxy+}", "/files", None),
        ("/files/{proxy+}", "/files/", None),
        ("/prs", "/prs/", None),
    ],
)
def test_path_patterns(pattern: str, path: str, parameters: dict[str, str] | None) -> None:
    assert match_path(pattern, path) == parameters


def test_literal_beats_parameter_beats_greedy() -> None:
    routes = table("GET /prs/{id}", "GET /prs/mine", "GET /{proxy+}", "GET /prs/{proxy+}")

    assert chosen(routes, "GET", "/prs/mine") == ("GET /prs/mine", {})
    assert chosen(routes, "GET", "/prs/42") == ("GET /prs/{id}", {"id": "42"})
    assert chosen(routes, "GET", "/prs/42/history") == ("GET /prs/{proxy+}", {"proxy": "42/history"})
    assert chosen(routes, "GET", "/audit") == ("GET /{proxy+}", {"proxy": "audit"})


def test_method_specific_beats_any_and_default_catches_the_rest() -> None:
    routes = table("ANY /prs/{id}", "DELETE /prs/{id}", "$default")

    assert chosen(routes, "DELETE", "/prs/1") == ("DELETE /prs/{id}", {"id": "1"})
    assert chosen(routes, "patch", "/prs/1") == ("ANY /prs/{id}", {"id": "1"})
    assert chosen(routes, "GET", "/elsewhere") == ("$default", {})


def test_no_route_and_no_default_is_none() -> None:
    assert chosen(table("GET /prs"), "POST", "/prs") is None
