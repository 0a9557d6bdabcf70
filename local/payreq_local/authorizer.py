"""API Gateway's side of an HTTP API Lambda authorizer: identity check, result cache, verdicts.

As API Gateway does it: a request missing one of the identity sources is refused with 401 without
calling the authorizer; otherwise the answer is cached for the authorizer's TTL
(`ReauthorizeEvery`), keyed by the identity source values, allow and deny alike; a TTL of 0
caches nothing. The function itself is the real authorizer handler, run by the gateway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from payreq_local.events import AuthorizerDecision
    from payreq_local.template import LambdaAuthorizer

# API Gateway's own bodies for these refusals (not the functions' error envelope).
UNAUTHORIZED = (401, {"message": "Unauthorized"})
FORBIDDEN = (403, {"message": "Forbidden"})
INTERNAL_ERROR = (500, {"message": "Internal Server Error"})


@dataclass
class AuthorizerCache:
    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, tuple[str, ...]], tuple[float, AuthorizerDecision]] = field(default_factory=dict)

    def get(self, authorizer: LambdaAuthorizer, identity: list[str]) -> AuthorizerDecision | None:
        if not self._caches(authorizer):
            return None
        key = (authorizer.name, tuple(identity))
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, decision = entry
        if self.clock() >= expires:
            del self._entries[key]
            return None
        return decision

    def put(self, authorizer: LambdaAuthorizer, identity: list[str], decision: AuthorizerDecision) -> None:
        if self._caches(authorizer):
            self._entries[(authorizer.name, tuple(identity))] = (self.clock() + authorizer.ttl_seconds, decision)

    def clear(self) -> None:
        self._entries.clear()

    @staticmethod
    def _caches(authorizer: LambdaAuthorizer) -> bool:
        # Without identity sources there is nothing to key on, so API Gateway calls it every time.
        return authorizer.ttl_seconds > 0 and bool(authorizer.identity_sources)
