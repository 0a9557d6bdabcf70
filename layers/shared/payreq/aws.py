"""boto3 clients, built lazily and once per container (warm invocations reuse them)."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config


# Calls per request, the first included (botocore's `max_attempts` would count retries only).
ATTEMPTS = 4

# Every client `client` has built (a functools cache cannot be walked): forget_credentials updates them.
_built: list[Any] = []


@cache
def client(service_name: str, endpoint_url: str | None = None, *, attempts: int = ATTEMPTS) -> Any:
    """`attempts` counts the first call: fewer where a later run retries anyway and time is short."""
    # boto3 is imported here, not at module level: it costs ~100 ms of cold start that a handler
    # whose request never reaches AWS should not pay.
    import boto3

    config = client_config(
        service_name,
        custom_endpoint=bool(endpoint_url or _endpoint_from_environment(service_name)),
        attempts=attempts,
    )
    built = boto3.client(service_name, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]
    _built.append(built)
    return built


def client_config(service_name: str, *, custom_endpoint: bool = False, attempts: int = ATTEMPTS) -> Config:
    """Retries and timeouts for every client; for S3, how presigned URLs are signed and addressed.

    Browsers use S3's presigned URLs directly, so they must work in every region: SigV4 (SigV2 is
    deprecated, and refused by regions opened since 2014), on the bucket's *regional* virtual-hosted
    host. botocore's defaults put them on the global `<bucket>.s3.amazonaws.com`, which a bucket
    younger than a day answers with a 307 to its region: a redirect a browser's CORS upload cannot
    follow. A custom endpoint (moto, locally) keeps path-style addressing: `<bucket>.localhost` does
    not resolve everywhere.
    """
    from botocore.config import Config

    common: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": attempts},
        "connect_timeout": 2,
        "read_timeout": 5,
    }
    if service_name != "s3":
        return Config(**common)
    return Config(
        **common,
        signature_version="s3v4",
        s3={
            "addressing_style": "path" if custom_endpoint else "virtual",
            "us_east_1_regional_endpoint": "regional",
        },
    )


def _endpoint_from_environment(service_name: str) -> str | None:
    """The endpoint boto3 itself would take from the environment (`AWS_ENDPOINT_URL_<SERVICE>`)."""
    variable = f"AWS_ENDPOINT_URL_{service_name.upper().replace('-', '_')}"
    return os.environ.get(variable) or os.environ.get("AWS_ENDPOINT_URL")


def forget_credentials() -> None:
    """Give every client built so far the credentials the environment has now (after a SnapStart
    restore: the snapshot's may have expired, and each restored environment gets its own).

    The clients are kept: building one again costs ~0.1 s (botocore builds its methods from the
    service model), which a restored environment's first request would pay.
    """
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None)
    if session is None:
        return
    # botocore keeps resolved credentials on the session and in each client's signer.
    session._session._credentials = None
    credentials = session._session.get_credentials()
    for built in _built:
        built._request_signer._credentials = credentials


def reset() -> None:
    """Drop cached clients (tests switch between moto and real endpoints)."""
    client.cache_clear()
    _built.clear()
