"""The browser's address, as the audit log records it.

Behind CloudFront (infra/edge.yaml), API Gateway's `sourceIp` is a CloudFront edge server; the
browser's own address and port arrive in `CloudFront-Viewer-Address` (`198.51.100.7:46532`,
`2001:db8::7:46532`). A caller going straight to the `execute-api` host could send that header too,
so it is believed only beside `X-Payreq-Edge`, a secret CloudFront adds to every origin request and
whose SHA-256 the functions hold (`PAYREQ_EDGE_SECRET_SHA256`): never the secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import TYPE_CHECKING

from payreq.settings import app_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

VIEWER_ADDRESS = "cloudfront-viewer-address"
EDGE_SECRET = "x-payreq-edge"


def viewer_address(source_ip: str | None, headers: Mapping[str, str] | None) -> str | None:
    """The viewer's IP address when CloudFront provably sent the request, else `source_ip`."""
    expected = app_settings().edge_secret_sha256
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    secret, forwarded = lowered.get(EDGE_SECRET), lowered.get(VIEWER_ADDRESS)
    if not expected or secret is None or forwarded is None:
        return source_ip
    if not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), expected.lower()):
        return source_ip
    address, _, _port = forwarded.rpartition(":")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return source_ip
