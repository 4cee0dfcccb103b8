"""Safe retries: what is repeated, how long the client waits, and that nothing fires twice."""

from __future__ import annotations

import uuid

import pytest

from opscore.client import (
    Conflict,
    OpsCoreClient,
    RateLimited,
    ServerError,
    TransportError,
)
from opscore.client.transport import IDEMPOTENCY_HEADER
from tests.support.constants import API_KEY
from tests.support.service import Fault


def keys_of(requests):
    return [seen.headers.get(IDEMPOTENCY_HEADER) for seen in requests]


def test_every_state_changing_post_sends_a_fresh_uuid4_idempotency_key(via_proxy, proxy):
    via_proxy.agents.register("a1")
    via_proxy.agents.send_event("a1", "activate")
    session = via_proxy.sessions.open("a1")
    via_proxy.sessions.send_event(session["id"], "start")
    run = via_proxy.runs.start("prepare_then_ask", agent_id="a1")
    via_proxy.runs.cancel(run["id"])
    for refused in (
        lambda: via_proxy.runs.complete_step(run["id"], "ask", "late"),
        lambda: via_proxy.runs.fail_step(run["id"], "ask", "Agent.Late"),
        lambda: via_proxy.runs.redrive(run["id"]),
    ):
        with pytest.raises(Conflict):
            refused()
    via_proxy.machines.validate("kind: agent\n")
    keyed = proxy.posts()[:-1]  # validating changes nothing: no key
    keys = keys_of(keyed)
    assert len(set(keys)) == len(keyed) == 9
    assert all(uuid.UUID(key).version == 4 for key in keys)
    assert keys_of(proxy.posts()[-1:]) == [None]


def test_a_lost_answer_is_retried_with_the_same_key_and_the_event_fires_once(
    api, via_proxy, proxy, sleeps
):
    api.agents.register("a1")
    proxy.faults.append(Fault("POST", "drop_after"))
    answer = via_proxy.agents.send_event("a1", "activate", {"task": "report"})
    assert answer.replayed is True
    assert answer["transition"]["seq"] == 1
    first, retry = keys_of(proxy.posts())
    assert first == retry
    assert [r["event"] for r in api.agents.history("a1")] == ["activate"]
    assert sleeps == [0.2]


def test_a_lost_answer_to_start_creates_one_run(api, via_proxy, proxy):
    proxy.faults.append(Fault("POST", "drop_after"))
    run = via_proxy.runs.start("three_noops")
    assert run.replayed is True
    assert [r["id"] for r in api.runs.list()] == [run["id"]]


def test_a_caller_given_key_replays_the_first_answer_on_a_later_call(api):
    api.agents.register("a1")
    first = api.agents.send_event("a1", "activate", idempotency_key="job-17-activate")
    again = api.agents.send_event("a1", "activate", idempotency_key="job-17-activate")
    assert (again.replayed, again["transition"]) == (True, first["transition"])
    assert len(api.agents.history("a1")) == 1


def test_503_is_retried_after_the_retry_after_it_asks_for(via_proxy, proxy, sleeps):
    proxy.faults.append(Fault("POST", "answer", 503, {"Retry-After": "2"}))
    agent = via_proxy.agents.register("a1")
    assert agent["id"] == "a1"
    assert sleeps == [2.0]


def test_retry_after_is_capped_by_max_delay(proxy, sleeps):
    client = OpsCoreClient(proxy.url, API_KEY, sleep=sleeps.append, max_delay=5)
    proxy.faults.append(Fault("GET", "answer", 429, {"Retry-After": "3600"}))
    assert client.agents.list().items == []
    assert sleeps == [5]


def test_429_past_the_retries_raises_rate_limited_with_its_retry_after(via_proxy, proxy, sleeps):
    proxy.faults.extend(Fault("POST", "answer", 429, {"Retry-After": "1"}) for _ in range(4))
    with pytest.raises(RateLimited) as raised:
        via_proxy.runs.start("three_noops")
    assert raised.value.retry_after == 1.0
    assert sleeps == [1.0, 1.0, 1.0]
    assert len(proxy.posts()) == 4


def test_get_is_retried_on_a_server_error_with_doubling_backoff(via_proxy, proxy, sleeps):
    proxy.faults.extend([Fault("GET", "answer", 502), Fault("GET", "answer", 500)])
    assert via_proxy.health()["status"] == "ok"
    assert sleeps == [0.2, 0.4]


def test_server_errors_past_the_retries_raise_server_error(via_proxy, proxy, sleeps):
    proxy.faults.extend(Fault("GET", "answer", 502) for _ in range(4))
    with pytest.raises(ServerError) as raised:
        via_proxy.agents.list()
    assert raised.value.status == 502
    assert sleeps == [0.2, 0.4, 0.8]


def test_delete_is_not_repeated_after_a_server_error(api, via_proxy, proxy, sleeps):
    api.agents.register("a1")
    proxy.faults.append(Fault("DELETE", "answer", 500))
    with pytest.raises(ServerError):
        via_proxy.agents.delete("a1")
    assert (len([s for s in proxy.seen if s.method == "DELETE"]), sleeps) == (1, [])


def test_delete_is_not_repeated_after_its_answer_was_lost(api, via_proxy, proxy, sleeps):
    api.agents.register("a1")
    proxy.faults.append(Fault("DELETE", "drop_after"))
    with pytest.raises(TransportError) as raised:
        via_proxy.agents.delete("a1")
    assert raised.value.sent is True
    assert sleeps == []


def test_a_refused_connection_is_retried_then_raised_as_transport_error(sleeps):
    client = OpsCoreClient("http://127.0.0.1:9", API_KEY, sleep=sleeps.append)
    with pytest.raises(TransportError, match=r"cannot connect to http://127\.0\.0\.1:9") as raised:
        client.agents.delete("a1")  # not replay-safe, but it never left: safe to repeat
    assert raised.value.sent is False
    assert sleeps == [0.2, 0.4, 0.8]


def test_zero_retries_fails_at_once(proxy, sleeps):
    client = OpsCoreClient(proxy.url, API_KEY, retries=0, sleep=sleeps.append)
    proxy.faults.append(Fault("GET", "answer", 503))
    with pytest.raises(ServerError):
        client.health()
    assert sleeps == []


def test_the_api_key_is_never_in_the_clients_repr():
    assert API_KEY not in repr(OpsCoreClient("http://127.0.0.1:8000", API_KEY))
