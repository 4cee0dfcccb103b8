"""Who is asking: the client address of a request, seen through the trusted proxies.

A proxy appends the address it was connected from to `X-Forwarded-For`, so reading the
header from the right, past the proxies we trust, reaches the first address no trusted
proxy vouches for: the client. Whatever lies left of it, the client may have written.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"  # the peer of a connection without an address (a Unix socket)
IPV6_PREFIX = 64  # one IPv6 client's share: a host picks any address in its /64 at will


def client_address(peer: str | None, forwarded: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the
    rightmost `X-Forwarded-For` address that is not one (`forwarded`: the header's values).

    An entry that is not an address ends the walk at the trusted proxy that passed it on.
    """
    nearest = _address(peer)
    if nearest is None:
        return UNKNOWN
    hops = [hop.strip() for value in forwarded for hop in value.split(",")]
    while _trusted(nearest, trusted) and hops:
        hop = _address(hops.pop())
        if hop is None:
            break
        nearest = hop
    return str(nearest)


def brake_key(client: str) -> str:
    """What the failed-key brake counts for `client` (an answer of `client_address`): an
    IPv4 address itself, an IPv6 address its /64, so rotating through it frees no one."""
    address = _address(client)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return client


def _address(text: str | None) -> Address | None:
    """`text` as an address (an IPv4-mapped IPv6 one as IPv4), or None."""
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)
