"""Which receivers may be called: a webhook URL is chosen by a user, and the deliverer runs inside
the VPC, so without these checks it would post to the database, the instance metadata service or
anything else only the VPC can reach (server-side request forgery).

Addresses are judged after DNS resolution, and the sender connects to the very address judged here:
a name that answers a public address now and a private one a second later (DNS rebinding) gets no
second lookup to exploit.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from payreq.errors import InvalidInput, detail

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000

# Address classes refused, in the order they are named (the first that matches is the reason given).
# Python's `is_global` is the backstop: whatever IANA does not route publicly is refused too.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class ReceiverRefused(Exception):
    """The receiver's address is not one the deliverer may call."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Receiver:
    """A URL split into what the sender needs: the name to send (Host, TLS SNI) and where to connect."""

    scheme: str
    host: str
    port: int
    target: str  # path and query


def refusal(address: IPAddress) -> str | None:
    """Why the deliverer must not call `address`, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and (
        address.ipv4_mapped is not None or address.sixtofour is not None or address.teredo is not None
    ):
        # An IPv4 address wrapped in IPv6 reaches the IPv4 host: refused whatever it wraps.
        return "ipv4_mapped"
    checks: tuple[tuple[str, bool], ...] = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared_address_space", address in _CGNAT),
        ("unique_local", isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7")),
        ("reserved", address.is_reserved or address in _NAT64),
        ("private", address.is_private),
        # Documentation, benchmarking and other special-purpose ranges: not routed on the internet.
        ("reserved", not address.is_global),
    )
    return next((reason for reason, matches in checks if matches), None)


# getaddrinfo has no timeout of its own, and a user chooses the name: a lookup that hangs must not
# hold a request or a deliverer pass, so it runs on a worker thread that is waited on this long.
DNS_TIMEOUT_SECONDS = 2.0
_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA), or OSError."""
    lookup = _lookups.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        answers = lookup.result(timeout=DNS_TIMEOUT_SECONDS)
    except FutureTimeout:
        raise OSError(f"no answer from DNS within {DNS_TIMEOUT_SECONDS:g} s") from None
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def parse(url: str, *, plain_http_allowed: bool) -> Receiver:
    """The receiver of a subscription's URL, or InvalidInput naming what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _invalid("not a valid URL", "invalid_url") from None
    allowed = ("https", "http") if plain_http_allowed else ("https",)
    if parts.scheme not in allowed:
        raise _invalid("must be an https:// URL", "https_required")
    if not parts.hostname:
        raise _invalid("has no host", "invalid_url")
    if parts.username is not None or parts.password is not None:
        raise _invalid("must not carry credentials; receivers verify the signature instead", "credentials_in_url")
    if parts.fragment:
        raise _invalid("must not have a #fragment", "invalid_url")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return Receiver(parts.scheme, parts.hostname, port or default_port, target)


def resolve_allowed(
    receiver: Receiver,
    *,
    resolve: Callable[[str, int], list[str]],
    local_receivers: Sequence[IPNetwork] = (),
) -> IPAddress:
    """The address to connect to: every address the name resolves to must be allowed (a name that
    answers a public and a private address is refused, not half-trusted)."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(receiver.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = [
                ipaddress.ip_address(answer.split("%", 1)[0]) for answer in resolve(receiver.host, receiver.port)
            ]
        except (OSError, UnicodeError, ValueError) as error:
            raise ReceiverRefused(f"{receiver.host} does not resolve: {error}", "unresolvable") from None
        if not addresses:
            raise ReceiverRefused(f"{receiver.host} does not resolve", "unresolvable")
    for address in addresses:
        if any(address in network for network in local_receivers):
            continue
        reason = refusal(address)
        if reason is not None:
            raise ReceiverRefused(
                f"{receiver.host} resolves to {address}, a {reason.replace('_', ' ')} address", reason
            )
    return addresses[0]


def check_url(
    url: str,
    *,
    plain_http_allowed: bool,
    resolve: Callable[[str, int], list[str]],
    local_receivers: Sequence[IPNetwork] = (),
) -> None:
    """Refuse (422) a subscription URL the deliverer could not call."""
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"is longer than {MAX_URL_LENGTH} characters", "invalid_url")
    receiver = parse(url, plain_http_allowed=plain_http_allowed)
    try:
        resolve_allowed(receiver, resolve=resolve, local_receivers=local_receivers)
    except ReceiverRefused as refused:
        raise _invalid(
            str(refused), f"address_refused_{refused.reason}" if refused.reason != "unresolvable" else "unresolvable"
        ) from None


def _invalid(problem: str, code: str) -> InvalidInput:
    return InvalidInput(f"The webhook URL {problem}.", details=[detail("url", problem, code)])
