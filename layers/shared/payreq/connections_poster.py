"""A lean client for API Gateway's `@connections` endpoint: `POST /@connections/{id}`, SigV4-signed.

boto3's `apigatewaymanagementapi` spends about 1.5 ms of CPU per `post_to_connection` (parameter
validation, the event hooks, the endpoint resolver, serialising and parsing a model), and the
broadcaster's threads do not overlap under the GIL: 1,000 posts cost 1.5 s of one core however
many threads there are. This poster does only what the call needs: botocore's `SigV4Auth` signs
each request (one signer per endpoint, kept with the function's credentials) and a urllib3 pool
(already a botocore dependency) keeps one keep-alive connection per thread.

It answers with the HTTP status and API Gateway's error type; what they mean (sent, gone,
throttled, failed) is decided in `payreq.broadcast_plan.verdict`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from botocore.credentials import Credentials

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Reply:
    """What API Gateway answered: `status` 0 when nothing came back (a timeout, a refused connection)."""

    status: int
    error_type: str = ""


class ConnectionsPoster:
    """Posts to one WebSocket API stage's `@connections` (thread-safe: the pool's threads share it)."""

    def __init__(self, endpoint_url: str, *, region: str, credentials: Credentials | None, concurrency: int) -> None:
        import urllib3
        from botocore.auth import SigV4Auth

        self._base = endpoint_url.rstrip("/")
        # Without credentials (a local endpoint that checks none) requests go unsigned.
        self._signer = SigV4Auth(credentials, "execute-api", region) if credentials is not None else None
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=concurrency,
            block=True,
            # Retries are the broadcaster's to decide: a 410 must never be retried, a 429 backs off.
            retries=False,
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
        )

    def post(self, connection_id: str, data: bytes) -> Reply:
        import urllib3

        # Connection ids end in `=`: percent-encoded in the path, as boto3 sends them.
        url = f"{self._base}/@connections/{quote(connection_id, safe='')}"
        headers = self._signed_headers(url, data)
        try:
            response = self._pool.request("POST", url, body=data, headers=headers)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return Reply(0, type(error).__name__)
        return Reply(response.status, _error_type(response.headers.get("x-amzn-ErrorType", "")))

    def _signed_headers(self, url: str, data: bytes) -> dict[str, str]:
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/octet-stream"})
        if self._signer is not None:
            self._signer.add_auth(request)
        return dict(request.headers.items())


def _error_type(header: str) -> str:
    # `GoneException:http://internal.amazon.com/coral/...`: the name is what comes before the colon.
    return header.split(":", 1)[0]


def region_of(endpoint_url: str) -> str:
    """The region to sign for: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`'s, else the function's."""
    host = urlsplit(endpoint_url).hostname or ""
    parts = host.split(".")
    if len(parts) > 3 and parts[1] == "execute-api":
        return parts[2]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def connections_poster(endpoint_url: str, concurrency: int = 32) -> ConnectionsPoster:
    """The poster for `endpoint_url`, with the function's credentials (one per container)."""
    import botocore.session

    credentials: Any = botocore.session.get_session().get_credentials()
    return ConnectionsPoster(
        endpoint_url, region=region_of(endpoint_url), credentials=credentials, concurrency=concurrency
    )
