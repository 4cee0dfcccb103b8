"""The outbound policy: push endpoints only on allowed hosts, over https (http and loopback in
development only), never at link-local or metadata addresses, checked on the addresses a name
resolves to when the call is made (a name rebound to a forbidden address is not called)."""

from __future__ import annotations

import pytest

from opscore.config import Settings
from opscore.push import Outbound, OutboundPolicy, Refused
from tests.support.push_endpoint import push_endpoint

ALLOWED = OutboundPolicy(frozenset({"agents.example.com", "*.fleet.example", "10.0.0.7"}))
DEVELOPMENT = OutboundPolicy(development=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://agents.example.com/tasks",
        "https://a.fleet.example:8443/in?x=1",
        "https://b.c.fleet.example/",
        "https://10.0.0.7/tasks",
    ],
)
def test_an_https_endpoint_on_an_allowed_host_passes(url):
    assert ALLOWED.check_url(url).scheme == "https"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://elsewhere.example.org/tasks", "not in OPSCORE_PUSH_ALLOWED_HOSTS"),
        ("https://fleet.example/tasks", "not in OPSCORE_PUSH_ALLOWED_HOSTS"),
        ("http://agents.example.com/tasks", "must be an https URL"),
        ("ftp://agents.example.com/tasks", "must be an https URL"),
        ("https://user:pw@agents.example.com/", "no user or password"),
        ("https://agents.example.com:99999/", "port"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[fe80::1]/tasks", "link-local"),
        ("https://169.254.10.1/tasks", "link-local"),
        ("https://metadata.google.internal/", "metadata"),
        ("https://127.0.0.1/tasks", "loopback"),
        ("https://localhost/tasks", "not in OPSCORE_PUSH_ALLOWED_HOSTS"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://0.0.0.0/", "cannot be an endpoint"),
    ],
)
def test_an_endpoint_the_policy_forbids_is_refused_saying_why(url, why):
    with pytest.raises(Refused, match=why):
        ALLOWED.check_url(url)


def test_development_allows_loopback_and_http_but_still_never_link_local():
    assert DEVELOPMENT.check_url("http://127.0.0.1:8080/tasks").hostname == "127.0.0.1"
    assert DEVELOPMENT.check_url("http://localhost/tasks").hostname == "localhost"
    with pytest.raises(Refused, match="link-local"):
        DEVELOPMENT.check_url("http://169.254.1.1/tasks")


def test_development_mode_is_no_api_keys_on_loopback():
    assert OutboundPolicy.from_settings(Settings()).development is True
    keyed = Settings(api_keys="sha256:" + "0" * 64)
    assert OutboundPolicy.from_settings(keyed).development is False
    public = Settings(host="192.0.2.10", api_keys="sha256:" + "0" * 64)
    assert OutboundPolicy.from_settings(public).development is False


def test_allowed_hosts_come_from_the_setting_trimmed_and_lowercased():
    settings = Settings(push_allowed_hosts=" Agents.Example.com. , *.fleet.example,,")
    policy = OutboundPolicy.from_settings(settings)
    assert policy.allowed_hosts == frozenset({"agents.example.com", "*.fleet.example"})


@pytest.mark.parametrize("address", ["169.254.169.254", "127.0.0.1", "fe80::1", "fd00:ec2::254"])
def test_a_name_that_resolves_to_a_forbidden_address_at_send_time_is_never_called(address):
    with push_endpoint(200) as endpoint:
        port = endpoint.httpd.server_address[1]
        # The name passed the check by its text; it now resolves to a forbidden address
        # (DNS rebinding). The endpoint listens on loopback: a call would reach it.
        outbound = Outbound(ALLOWED, resolver=lambda host, _port: [address])
        with pytest.raises(Refused):
            outbound.post(f"https://agents.example.com:{port}/tasks", b"{}", {})
        assert endpoint.received == []


def test_a_name_with_one_forbidden_address_among_allowed_ones_is_never_called():
    outbound = Outbound(ALLOWED, resolver=lambda host, port: ["10.0.0.8", "169.254.169.254"])
    with pytest.raises(Refused, match="metadata"):
        outbound.post("https://agents.example.com/tasks", b"{}", {})


def test_the_call_goes_to_the_address_that_was_checked_with_the_endpoint_name_as_host():
    with push_endpoint(204) as endpoint:
        port = endpoint.httpd.server_address[1]
        seen = []

        def resolver(host, _port):
            seen.append(host)
            return ["127.0.0.1"]

        outbound = Outbound(OutboundPolicy(frozenset({"agent.test"}), development=True), resolver)
        status = outbound.post(f"http://agent.test:{port}/tasks?q=1", b"{}", {"X-Test": "1"})

    assert status == 204
    assert seen == ["agent.test"]
    (received,) = endpoint.received
    assert received.path == "/tasks?q=1"
    assert received.headers["Host"] == f"agent.test:{port}"
