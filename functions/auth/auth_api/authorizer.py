"""The HTTP API's Lambda authorizer (payload 2.0, simple responses).

It authenticates and never refuses: the session cookie or `Authorization: Bearer` (API token or
an OIDC issuer's JWT) becomes `userId`, `permissions` and `authMethod` in the context; a missing
or bad credential goes on with an empty context or `authError`, and the route's
`authorize(...)` answers 401/403 in the error envelope (API Gateway's own refusal would not be).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)

from payreq import snapstart
from payreq.auth.authenticate import Authenticator, VerifiedTokens
from payreq.auth.jwt import IssuerDiscovery, JwksCache
from payreq.db import get_engine
from payreq.observability import instrument
from payreq.settings import auth_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Validated at cold start: in prod, a configured test-login token stops the function here.
auth_settings()

# Kept for the life of the warm container: where the issuer's keys are, the keys, and verified JWTs.
# Sessions and API tokens are never cached: each request looks them up (revocation is immediate).
ISSUER_DISCOVERY = IssuerDiscovery()
ISSUER_KEYS = JwksCache()


@cache
def verified_jwts(ttl_seconds: int) -> VerifiedTokens:
    return VerifiedTokens(ttl_seconds)


snapstart.register()


@instrument()
@event_source(data_class=APIGatewayAuthorizerEventV2)
def lambda_handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict[str, Any]:
    settings = auth_settings()
    authenticator = Authenticator(
        get_engine(),
        settings,
        jwks=ISSUER_KEYS,
        discovery=ISSUER_DISCOVERY,
        verified=verified_jwts(settings.cache_seconds),
    )
    return APIGatewayAuthorizerResponseV2(authorize=True, context=authenticator.context_for(event.raw_event)).asdict()
