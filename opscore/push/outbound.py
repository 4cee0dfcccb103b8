"""Outbound calls to agents' endpoints: only to hosts the configuration allows, never to
link-local or cloud-metadata addresses, loopback only in development. The host's addresses
are checked when the call is made (a name that now resolves elsewhere, DNS rebinding, is
caught) and the connection goes to the address that was checked."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..config import Settings

URL_MAX = 2048
TIMEOUT = 10.0  # seconds to connect, and between bytes of the answer
ANSWER_MAX = 64 * 1024  # bytes of an endpoint's answer read (and ignored)

# Cloud instance-metadata services: AWS/GCP/Azure 169.254.169.254 (link-local anyway), AWS
# IPv6, Alibaba, Oracle; and the names some clouds give them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data"}
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class Refused(Exception):
    """The endpoint may not be called (its URL, its host or an address it resolves to)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to now (socket.gaierror when it does not)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class OutboundPolicy:
    """Which endpoints may be called: hosts listed in `allowed_hosts` (`name`, `*.domain` or
    an address); loopback and `http://` in development only; never link-local or metadata."""

    allowed_hosts: frozenset[str] = frozenset()
    development: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        """The policy of `OPSCORE_PUSH_ALLOWED_HOSTS` and the service's development mode."""
        hosts = (h.strip().lower().rstrip(".") for h in settings.push_allowed_hosts.split(","))
        return cls(frozenset(h for h in hosts if h), settings.development)

    def check_url(self, url: str) -> urllib.parse.SplitResult:
        """The URL split, if it may be called as far as its text tells (Refused otherwise)."""
        if not isinstance(url, str) or len(url) > URL_MAX:
            raise Refused(f"an endpoint is a URL of at most {URL_MAX} characters")
        parts = urllib.parse.urlsplit(url)
        schemes = ("https", "http") if self.development else ("https",)
        if parts.scheme not in schemes:
            raise Refused(f"an endpoint must be an {' or '.join(schemes)} URL")
        try:
            parts.port  # noqa: B018 - a malformed port raises here
        except ValueError:
            raise Refused("the endpoint's port is not a number from 0 to 65535") from None
        host = (parts.hostname or "").rstrip(".")
        if not host or parts.username is not None or parts.password is not None:
            raise Refused("an endpoint names a host, and no user or password")
        if host in METADATA_NAMES:
            raise Refused(f"host {host} is a cloud metadata service")
        literal = _address(host)
        if literal is not None:
            self.check_address(literal)
        if not self._allowed(host, literal):
            raise Refused(f"host {host} is not in OPSCORE_PUSH_ALLOWED_HOSTS")
        return parts

    def check_address(self, address: Address) -> None:
        """Refused unless the endpoint may be reached at `address`."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address in METADATA_ADDRESSES:
            raise Refused(f"address {address} is a cloud metadata service")
        if address.is_link_local:
            raise Refused(f"address {address} is link-local")
        if address.is_unspecified or address.is_multicast:
            raise Refused(f"address {address} cannot be an endpoint")
        if address.is_loopback and not self.development:
            raise Refused(f"address {address} is loopback, allowed in development only")

    def _allowed(self, host: str, literal: Address | None) -> bool:
        loopback = host in LOOPBACK_NAMES or (literal is not None and literal.is_loopback)
        if self.development and loopback:
            return True
        if host in self.allowed_hosts:
            return True
        return any(
            entry.startswith("*.") and host.endswith(entry[1:]) for entry in self.allowed_hosts
        )


class Outbound:
    """POSTs to endpoints the policy allows, at an address checked as the call is made."""

    def __init__(
        self, policy: OutboundPolicy, resolver: Resolver = resolve, timeout: float = TIMEOUT
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.timeout = timeout

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The status of the endpoint's answer to `body`. Refused when the URL, its host or
        any address the host resolves to is not allowed (nothing is sent); OSError or
        HTTPException when the call fails."""
        parts = self.policy.check_url(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
        if not addresses:
            raise OSError(f"host {host} resolves to no address")
        for address in addresses:  # every one: a name must not mix an allowed and a bad one
            self.policy.check_address(address)
        connection = _connection(parts.scheme, host, str(addresses[0]), port, self.timeout)
        path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request("POST", path, body=body, headers=dict(headers))
            answer = connection.getresponse()
            answer.read(ANSWER_MAX)
            return answer.status
        finally:
            connection.close()


def _address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address; `Host` stays the endpoint's name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same over TLS: the certificate is checked against the endpoint's name."""

    default_port = 443

    def connect(self) -> None:
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def _connection(
    scheme: str, host: str, address: str, port: int, timeout: float
) -> http.client.HTTPConnection:
    pinned = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return pinned(host, address, port, timeout)
