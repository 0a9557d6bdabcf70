"""boto3 clients, built lazily and once per container (warm invocations reuse them)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service_name: str, endpoint_url: str | None = None) -> Any:
    # boto3 is imported here, not at module level: it costs ~100 ms of cold start that a handler
    # whose request never reaches AWS should not pay.
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
    return boto3.client(service_name, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]


def reset() -> None:
    """Drop cached clients (tests switch between moto and real endpoints)."""
    client.cache_clear()
