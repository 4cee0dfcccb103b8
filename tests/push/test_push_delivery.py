"""Tasks pushed to agents' endpoints, on every store: signed with the agent's own secret,
retried with backoff until the endpoint takes them, undeliverable once the attempts are
spent, never sent where the outbound policy forbids; the agent answers through complete."""

from __future__ import annotations

import json
import random

import pytest

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry, load_text
from opscore.push import OutboundPolicy
from opscore.runs.planner import task_id
from opscore.runs.task_json import task_json
from opscore.store.push import DeliveryStatus, PushTarget
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH, MACHINES
from tests.support.polling import poll_until
from tests.support.push_endpoint import push_endpoint
from tests.support.workflows import finished

ASK = """
kind: workflow
name: ask_pusher
version: 1
start: ask
steps:
  ask: {task: agent, params: {agent: pusher, question: why}, next: succeeded}
"""

OFFER = """
kind: workflow
name: offer_summary
version: 1
start: review
steps:
  review: {task: agent, capability: summarize, next: succeeded}
"""

ATTEMPTS = 3


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def push_core(callbacks, clock, backend):
    """A core (four workers) in development mode (loopback endpoints allowed), pushing each
    task at most three times, with the `ask_pusher` and `offer_summary` workflows."""
    definitions = DefinitionRegistry()
    definitions.load([MACHINES], callbacks)
    for text in (ASK, OFFER):
        result = load_text(text, "template.yaml", callbacks)
        assert result.problems == []
        definitions.add(result.definition)
    store = make_store(backend, clock, history_cap=200)
    core = OpsCore(
        definitions,
        store,
        callbacks,
        clock=clock,
        rng=random.Random(7),
        push=OutboundPolicy(development=True),
        push_attempts=ATTEMPTS,
    )
    core.start(4)
    yield core
    core.stop()
    close_store(store)


def register_pusher(core, endpoint_url, capabilities=()):
    """Register agent `pusher` with a push endpoint; its push secret."""
    agent, secret = core.push.register(
        endpoint_url,
        lambda secret: core.agents.register(agent_id="pusher", capabilities=capabilities),
    )
    assert agent.id == "pusher"
    assert secret
    return secret


def delivery_of(core, run_id, attempts=None, status=None):
    """The run's `ask` delivery once it has made `attempts` attempts (or has `status`)."""

    def seen():
        found = core.push.book.delivery(task_id(run_id, "ask", 1))
        if found is None:
            return None
        if attempts is not None and found.attempts < attempts:
            return None
        return found if status is None or found.status == status else None

    return poll_until(seen, what=f"the delivery ({attempts} attempts, {status})")


def test_an_endpoint_that_answers_500_twice_gets_the_task_signed_on_the_third_attempt(
    push_core, clock
):
    with push_endpoint(500, 500, 200) as endpoint:
        secret = register_pusher(push_core, endpoint.url)
        run = push_core.runs.start("ask_pusher", {})
        first = delivery_of(push_core, run.id, attempts=1)
        assert (first.status, first.last_error) == (
            DeliveryStatus.PENDING,
            "the endpoint answered 500",
        )
        clock.advance(1)  # the first wait
        delivery_of(push_core, run.id, attempts=2)
        clock.advance(2)  # the second wait, twice the first
        delivered = delivery_of(push_core, run.id, status=DeliveryStatus.DELIVERED)

        assert delivered.attempts == 3
        assert len(endpoint.received) == 3
        last = endpoint.received[-1]
        assert last.signed_by(secret)
        assert last.headers["X-OpsCore-Attempt"] == "3"
        pushed = last.json()
        assert pushed["id"] == task_id(run.id, "ask", 1)
        assert (pushed["run_id"], pushed["step"], pushed["agent_id"]) == (run.id, "ask", "pusher")
        assert pushed["params"] == {"question": "why"}
        assert pushed["lease_token"]


def pushed_task(core):
    """Start an `ask_pusher` run and push its task to an endpoint that takes it: (run, the
    body the endpoint received)."""
    with push_endpoint(200) as endpoint:
        register_pusher(core, endpoint.url)
        run = core.runs.start("ask_pusher", {})
        delivery_of(core, run.id, status=DeliveryStatus.DELIVERED)
        return run, endpoint.received[0].json()


def test_the_agent_answers_a_pushed_task_through_complete_with_the_pushed_token(push_core):
    run, pushed = pushed_task(push_core)

    push_core.agent_tasks.complete(pushed["id"], pushed["lease_token"], {"answer": 42})

    done = poll_until(lambda: finished(push_core, run.id), what="the run to finish")
    assert done.state == "succeeded"


def test_the_shape_of_a_pushed_task_is_the_shape_of_the_task_as_listed(push_core):
    _, pushed = pushed_task(push_core)

    listed = task_json(push_core.agent_tasks.get(pushed["id"]))
    holder = {"lease_token": pushed["lease_token"], "lease_seconds": pushed["lease_seconds"]}
    assert {**listed, **holder} == pushed


def test_an_endpoint_that_keeps_failing_is_listed_undeliverable_after_its_attempts(
    push_core, clock
):
    with push_endpoint(503) as endpoint:
        register_pusher(push_core, endpoint.url)
        run = push_core.runs.start("ask_pusher", {})
        for attempt in range(1, ATTEMPTS):
            delivery_of(push_core, run.id, attempts=attempt)
            clock.advance(2 ** (attempt - 1))
        given_up = delivery_of(push_core, run.id, status=DeliveryStatus.UNDELIVERABLE)
        assert len(endpoint.received) == ATTEMPTS

    assert (given_up.attempts, given_up.last_error) == (ATTEMPTS, "the endpoint answered 503")
    listed = push_core.push.deliveries(DeliveryStatus.UNDELIVERABLE)
    assert [d.task_id for d in listed] == [task_id(run.id, "ask", 1)]


def test_an_endpoint_the_policy_no_longer_allows_is_never_contacted_and_is_undeliverable(
    push_core,
):
    with push_endpoint(200) as endpoint:
        push_core.agents.register(agent_id="pusher")
        # Registered in development mode; the service now runs without it, so neither
        # `http://` nor loopback endpoints may be called.
        push_core.store.push.put_target(PushTarget("pusher", endpoint.url, "s3cret", 0.0))
        push_core.push.outbound.policy = OutboundPolicy(frozenset({"127.0.0.1"}))
        run = push_core.runs.start("ask_pusher", {})
        refused = delivery_of(push_core, run.id, status=DeliveryStatus.UNDELIVERABLE)

        assert endpoint.received == []
    assert refused.attempts == 1
    assert refused.last_error == "an endpoint must be an https URL"


def test_a_capability_task_is_left_for_a_claim_and_not_pushed(push_core):
    with push_endpoint(200) as endpoint:
        register_pusher(push_core, endpoint.url, capabilities=["summarize"])
        run = push_core.runs.start("offer_summary", {})
        offered = poll_until(
            lambda: push_core.agent_tasks.list(capability="summarize"), what="the offer"
        )
        claimed = push_core.agent_tasks.claim("pusher")

        assert claimed is not None
        assert claimed[0].id == offered[0].id
        assert endpoint.received == []
        assert push_core.push.deliveries() == []
    assert run.id == offered[0].run.id


def test_a_deregistered_agent_gets_no_more_pushes(push_core):
    with push_endpoint(200) as endpoint:
        register_pusher(push_core, endpoint.url)
        push_core.push.forget("pusher")
        assert push_core.push.pushes_to("pusher") is False
        run = push_core.runs.start("ask_pusher", {})
        poll_until(lambda: push_core.agent_tasks.list(agent_id="pusher"), what="the task")

        assert endpoint.received == []
    assert push_core.push.book.delivery(task_id(run.id, "ask", 1)) is None


def test_a_push_that_fails_logs_why_but_never_the_agent_secret(push_core, clock, json_logs):
    with push_endpoint(503) as endpoint:
        secret = register_pusher(push_core, endpoint.url)
        run = push_core.runs.start("ask_pusher", {})
        for attempt in range(1, ATTEMPTS):
            delivery_of(push_core, run.id, attempts=attempt)
            clock.advance(2 ** (attempt - 1))
        delivery_of(push_core, run.id, status=DeliveryStatus.UNDELIVERABLE)

    lines = json_logs()
    assert any("undeliverable" in line["message"] for line in lines)
    assert secret not in json.dumps(lines)


def test_over_http_an_agent_registered_with_an_endpoint_answers_its_pushed_task(push_core):
    client = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=push_core).test_client()
    with push_endpoint(200) as endpoint:
        registered = client.post(
            "/v1/agents", json={"id": "pusher", "endpoint": endpoint.url}, headers=AUTH
        )
        run = push_core.runs.start("ask_pusher", {})
        delivery_of(push_core, run.id, status=DeliveryStatus.DELIVERED)
        (received,) = endpoint.received
    assert received.signed_by(registered.json["push_secret"])
    pushed = received.json()

    answer = client.post(
        f"/v1/tasks/{pushed['id']}/complete",
        json={"lease_token": pushed["lease_token"], "output": {"answer": 42}},
        headers=AUTH,
    )

    assert answer.status_code == 200
    done = poll_until(lambda: finished(push_core, run.id), what="the run to finish")
    assert done.state == "succeeded"
