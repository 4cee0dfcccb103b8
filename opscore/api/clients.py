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
