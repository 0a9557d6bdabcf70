"""HTTP API route selection, as API Gateway does it.

API Gateway picks the most specific route: a literal segment beats a `{param}` segment, which beats
a greedy `{proxy+}`; a route for the request's method beats `ANY`; `$default` catches the rest.
`{proxy+}` must be the last segment and matches one or more segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable


class RouteLike(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


_LITERAL, _PARAM, _GREEDY = 0, 1, 2


def _segments(path: str) -> list[str]:
    return path.split("/")[1:] if path.startswith("/") else path.split("/")


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAM
    return _LITERAL


def match_path(pattern: str, path: str) -> dict[str, str] | None:
    """The path parameters if `path` matches the route path `pattern`, else None."""
    wanted, actual = _segments(pattern), _segments(path)
    parameters: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        kind = _kind(segment)
        if kind == _GREEDY:
            rest = actual[index:]
            if not rest or rest == [""]:
                return None
            parameters[segment[1:-2]] = "/".join(rest)
            return parameters
        if index >= len(actual):
            return None
        if kind == _PARAM:
            if actual[index] == "":
                return None
            parameters[segment[1:-1]] = actual[index]
        elif segment != actual[index]:
            return None
    return parameters if len(actual) == len(wanted) else None


@dataclass(frozen=True)
class Match[R: RouteLike]:
    route: R
    path_parameters: dict[str, str]


class RouteTable[R: RouteLike]:
    def __init__(self, routes: Iterable[R]) -> None:
        everything = list(routes)
        self._routes = [route for route in everything if route.path != "$default"]
        self._default = next((route for route in everything if route.path == "$default"), None)

    def match(self, method: str, path: str) -> Match[R] | None:
        candidates = []
        for route in self._routes:
            if route.method not in (method.upper(), "ANY"):
                continue
            parameters = match_path(route.path, path)
            if parameters is not None:
                candidates.append((self._specificity(route, method), route, parameters))
        if candidates:
            _, route, parameters = min(candidates, key=lambda candidate: candidate[0])
            return Match(route, parameters)
        if self._default is not None:
            return Match(self._default, {})
        return None

    @staticmethod
    def _specificity(route: RouteLike, method: str) -> tuple[tuple[int, ...], int]:
        # Lower sorts first: segment kinds left to right (literal < param < greedy), then exact method.
        kinds = tuple(_kind(segment) for segment in _segments(route.path))
        return kinds, 0 if route.method == method.upper() else 1
