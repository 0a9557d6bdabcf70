"""The HTTP API's routes, to tell a wrong method (405) from a path the API does not have (404).

`routes.json` beside this module is written from template.yaml by `payreq events generate` (and
checked by `make events-check`), so it lists exactly the route keys API Gateway serves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROUTES_FILE = Path(__file__).with_name("routes.json")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /api/v1/prs/{prId}, /files/{proxy+}

    @property
    def pattern(self) -> re.Pattern[str]:
        # API Gateway's path variables: {name} is one segment, {name+} the rest of the path.
        parts = re.split(r"(\{[^}]+\})", self.path)
        regex = "".join(
            (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
        )
        return re.compile(f"^{regex}$")


@cache
def routes() -> tuple[Route, ...]:
    keys = json.loads(ROUTES_FILE.read_text())
    return tuple(Route(*key.split(" ", 1)) for key in keys)


def methods_for(path: str, table: tuple[Route, ...] | None = None) -> list[str]:
    """The methods the API answers on `path` (none: the API has no such path)."""
    return sorted({route.method for route in (table or routes()) if route.pattern.match(path)})
