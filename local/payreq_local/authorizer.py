"""API Gateway's side of an HTTP API Lambda authorizer: identity check, result cache, verdicts.

As API Gateway does it: a request missing one of the identity sources is refused with 401 without
calling the authorizer; otherwise the answer is cached for the authorizer's TTL
(`ReauthorizeEvery`), keyed by the identity source values, allow and deny alike; a TTL of 0
caches nothing. The function itself is the real authorizer handler, run by the gateway
(`RouteAuthorizer`, which the HTTP API asks before a route's function).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from payreq_local.events import InvalidResponse, authorizer_decision, authorizer_event, identity_values
from payreq_local.journal import ms_since

if TYPE_CHECKING:
    from collections.abc import Callable

    from payreq_local.events import AuthorizerDecision, HttpRequest
    from payreq_local.journal import Journal
    from payreq_local.template import HttpRoute, LambdaAuthorizer
    from payreq_local.workers import InvocationResult, Workers

log = logging.getLogger("payreq_local")


def answer_of(result: InvocationResult, failure: str) -> Any:
    """What a function an API invoked answered; InvalidResponse(`failure`) when it failed, which
    API Gateway answers the same way as an answer it cannot use."""
    if not result.ok:
        raise InvalidResponse(failure)
    return result.result


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


class RouteAuthorizer:
    """Runs a route's Lambda authorizer (or answers from the cache) before the route's function."""

    def __init__(self, workers: Workers, journal: Journal, api_id: str) -> None:
        self.workers = workers
        self.journal = journal
        self.api_id = api_id
        self.cache = AuthorizerCache()

    async def authorize(
        self, route: HttpRoute, incoming: HttpRequest, parameters: dict[str, str], request_id: str
    ) -> dict[str, Any] | tuple[int, dict[str, str]]:
        """The authorizer's context for the route's function, or API Gateway's refusal."""
        authorizer = route.authorizer
        assert authorizer is not None
        identity = identity_values(authorizer.identity_sources, incoming)
        if identity is None:
            return UNAUTHORIZED
        decision = self.cache.get(authorizer, identity)
        if decision is None:
            decision = await self._ask(authorizer, route, incoming, parameters, request_id, identity)
            if decision is None:
                return INTERNAL_ERROR
            self.cache.put(authorizer, identity, decision)
        return decision.context if decision.authorized else FORBIDDEN

    async def _ask(
        self,
        authorizer: LambdaAuthorizer,
        route: HttpRoute,
        incoming: HttpRequest,
        parameters: dict[str, str],
        request_id: str,
        identity: list[str],
    ) -> AuthorizerDecision | None:
        """The function's decision, or None when it failed or answered what API Gateway cannot use."""
        started = time.perf_counter()
        event = authorizer_event(
            incoming,
            route_key=route.route_key,
            path_parameters=parameters,
            api_id=self.api_id,
            request_id=request_id,
            identity=identity,
        )
        result = await self.workers[authorizer.function].invoke(event, request_id)
        try:
            answer = answer_of(result, "the authorizer failed")
            decision = authorizer_decision(answer, simple_responses=authorizer.simple_responses)
        except InvalidResponse as error:
            self.journal.record(
                "auth", route.route_key, authorizer.function, "error", ms_since(started), result, requestId=request_id
            )
            if result.ok:
                log.warning("%s: %s", authorizer.function, error)
            return None
        self.journal.record(
            "auth",
            route.route_key,
            authorizer.function,
            "allow" if decision.authorized else "deny",
            ms_since(started),
            result,
            requestId=request_id,
        )
        return decision
