"""Outbound HTTPS calls (OAuth token endpoints, JWKS). The standard library is enough for the
two or three JSON calls we make, and costs nothing at cold start."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode


class OutboundError(Exception):
    """The remote answered badly or not at all; `status` is its HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def fetch_json(
    url: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Any:
    """GET `url` (or POST `form` url-encoded) and decode the JSON answer."""
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            body = json.load(error)
        except ValueError:
            body = None
        raise OutboundError(f"{url} answered {error.code}", status=error.code, body=body) from error
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise OutboundError(f"{url} could not be reached: {error}") from error
