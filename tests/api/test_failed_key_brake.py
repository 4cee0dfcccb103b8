"""The failed-key brake on every store: the 21st failure within a minute is a 429 whichever
process counted the first 20, a valid key is never braked, the window closes on the clock,
and behind a trusted proxy each forwarded client is braked apart."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from tests.support.backends import another_store, close_store, make_store
from tests.support.constants import API_KEY, AUTH
from tests.support.servers import free_port, running_server

WRONG = {"X-API-Key": "a-guess"}
LIMIT = 20  # failures a client address may have in a minute before it is braked
PROXY, CLIENT, OTHER = "10.0.0.5", "203.0.113.7", "203.0.113.8"


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def two_apps(definitions, callbacks, backend, clock):
    """Two apps over the same data, as two server processes are: over one memory store, or
    over two SQL stores on one database. Their clients, first and second."""
    first = make_store(backend, clock)
    second = another_store(backend, first, clock)
    settings = {"api_keys": API_KEY, "log_level": "WARNING"}
    cores = [OpsCore(definitions, store, callbacks, clock=clock) for store in (first, second)]
    yield [create_app(settings, core=core).test_client() for core in cores]
    close_store(first)
    close_store(second)


@pytest.fixture
def behind_proxy(definitions, callbacks, clock):
    """A client of an app that trusts the proxies of 10.0.0.0/8."""
    settings = {"api_keys": API_KEY, "log_level": "WARNING", "trusted_proxies": "10.0.0.0/8"}
    core = OpsCore(definitions, callbacks=callbacks, clock=clock)
    return create_app(settings, core=core).test_client()


def get(client, headers, peer: str = CLIENT, forwarded: str | None = None):
    if forwarded is not None:
        headers = {**headers, "X-Forwarded-For": forwarded}
    return client.get("/v1/agents", headers=headers, environ_base={"REMOTE_ADDR": peer})


def fail_up_to_the_limit(clients, **where) -> list[int]:
    """LIMIT failures, taking turns over `clients`; their statuses."""
    return [get(clients[n % len(clients)], WRONG, **where).status_code for n in range(LIMIT)]


def test_exactly_the_21st_failure_in_a_minute_is_429_whichever_app_counted_them(two_apps):
    first, second = two_apps
    assert fail_up_to_the_limit(two_apps) == [401] * LIMIT
    braked = [get(first, WRONG), get(second, WRONG)]
    assert [answer.status_code for answer in braked] == [429, 429]
    assert braked[0].json["message"] == "too many failed authentications; wait before retrying"
    assert braked[0].headers["Retry-After"] == "60"


def test_a_valid_key_from_a_braked_address_is_answered_200(two_apps):
    first, second = two_apps
    fail_up_to_the_limit(two_apps)
    assert get(first, WRONG).status_code == 429
    assert [get(client, AUTH).status_code for client in (first, second)] == [200, 200]
    assert get(second, WRONG).status_code == 429


def test_the_brake_releases_when_the_window_closes_on_the_clock(two_apps, clock):
    first, second = two_apps
    fail_up_to_the_limit(two_apps)
    clock.advance(59)
    still = get(second, WRONG)
    assert (still.status_code, still.headers["Retry-After"]) == (429, "1")
    clock.advance(1)
    assert get(first, WRONG).status_code == 401


def test_a_braked_address_brakes_no_other(two_apps):
    first, _ = two_apps
    fail_up_to_the_limit(two_apps)
    assert get(first, WRONG).status_code == 429
    assert get(first, WRONG, peer=OTHER).status_code == 401


def test_behind_a_trusted_proxy_each_forwarded_client_is_braked_apart(behind_proxy):
    fail_up_to_the_limit([behind_proxy], peer=PROXY, forwarded=CLIENT)
    assert get(behind_proxy, WRONG, peer=PROXY, forwarded=CLIENT).status_code == 429
    assert get(behind_proxy, WRONG, peer=PROXY, forwarded=OTHER).status_code == 401


def test_a_forwarded_address_from_a_peer_that_is_no_trusted_proxy_is_ignored(behind_proxy):
    forged = [f"198.51.100.{n}" for n in range(LIMIT + 1)]
    statuses = [get(behind_proxy, WRONG, forwarded=f).status_code for f in forged]
    assert statuses == [401] * LIMIT + [429]


def test_addresses_a_client_writes_into_forwarded_for_do_not_free_it(behind_proxy):
    forged = [f"198.51.100.{n}, {CLIENT}" for n in range(LIMIT + 1)]
    statuses = [get(behind_proxy, WRONG, peer=PROXY, forwarded=f).status_code for f in forged]
    assert statuses == [401] * LIMIT + [429]


def test_two_server_processes_brake_the_21st_failure_and_never_a_valid_key(tmp_path):
    port = free_port()
    env = {
        "OPSCORE_API_KEYS": API_KEY,
        "OPSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}",
        "OPSCORE_MIGRATE_ON_START": "true",
        "OPSCORE_PROCESSES": "2",
        "OPSCORE_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "opscore"), "serve", "--port", str(port)]
    with running_server(command, env, port) as url:
        failures = [status(url, WRONG) for _ in range(LIMIT + 3)]
        valid = status(url, AUTH)
    assert failures == [401] * LIMIT + [429] * 3
    assert valid == 200


def status(url: str, headers: dict[str, str]) -> int:
    """The status of GET /v1/agents on a connection of its own (either process may take it)."""
    request = urllib.request.Request(f"{url}/v1/agents", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def test_an_ipv6_client_rotating_through_its_64_stays_braked_and_the_next_64_does_not(two_apps):
    first, _ = two_apps
    statuses = [
        get(two_apps[n % 2], WRONG, peer=f"2001:db8:1:2::{n + 1:x}").status_code
        for n in range(LIMIT)
    ]

    assert set(statuses) == {401}
    assert get(first, WRONG, peer="2001:db8:1:2:abcd::1").status_code == 429
    assert get(first, WRONG, peer="2001:db8:1:3::1").status_code == 401
