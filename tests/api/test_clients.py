"""The client address of a request: the peer's, or behind trusted proxies the rightmost
forwarded address no trusted proxy vouches for."""

from __future__ import annotations

import ipaddress

import pytest

from opscore.api.clients import UNKNOWN, brake_key, client_address
from opscore.config import ConfigError, Settings

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", [], "203.0.113.7"),
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),  # an untrusted peer's header
        ("10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
        ("10.0.0.5", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),  # the left is the client's
        ("10.0.0.5", ["203.0.113.7, 10.0.0.9"], "203.0.113.7"),  # past a chain of proxies
        ("10.0.0.5", ["203.0.113.7", "10.0.0.9"], "203.0.113.7"),  # the header sent twice
        ("10.0.0.5", [], "10.0.0.5"),  # the proxy's own request
        ("10.0.0.5", ["10.0.0.7"], "10.0.0.7"),  # only proxies: the farthest one
        ("10.0.0.5", ["203.0.113.7, not-an-address"], "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.7, "], "10.0.0.5"),
        ("::ffff:10.0.0.5", ["203.0.113.7"], "203.0.113.7"),  # an IPv4 peer on an IPv6 socket
        ("2001:db8::1", ["2001:db8::2, 2a00::7"], "2a00::7"),
        (None, ["203.0.113.7"], UNKNOWN),
        ("", [], UNKNOWN),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_vouches_for(peer, forwarded, client):
    assert client_address(peer, forwarded, TRUSTED) == client


def test_without_trusted_proxies_the_forwarded_address_is_never_believed():
    assert client_address("10.0.0.5", ["203.0.113.7"], ()) == "10.0.0.5"


def test_trusted_proxies_are_read_as_addresses_and_networks():
    settings = Settings.from_env({"OPSCORE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,::1"})
    assert [str(n) for n in settings.trusted_proxy_networks] == [
        "10.0.0.0/8",
        "192.0.2.1/32",
        "::1/128",
    ]


def test_a_trusted_proxy_that_is_no_address_is_refused_naming_the_variable():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"OPSCORE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"})
    assert str(refused.value) == (
        "OPSCORE_TRUSTED_PROXIES='10.0.0.0/8,proxy.internal': "
        "'proxy.internal' is not an address or a network (CIDR)"
    )


@pytest.mark.parametrize(
    ("client", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::7", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same client
        ("2001:db8:1:3::7", "2001:db8:1:3::/64"),  # the next /64: another client
        (UNKNOWN, UNKNOWN),
    ],
)
def test_the_brake_counts_an_ipv4_client_by_address_and_an_ipv6_one_by_its_64(client, key):
    assert brake_key(client) == key
