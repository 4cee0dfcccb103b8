"""`POST /v1/integrations/agentkit/events` on every store: a REGISTER or DEREGISTER signed
with the configured secret, within the time window and never seen before, registers or
removes the agent; a forged, stale or replayed one is a 401 that changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from opscore.api import create_app
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.errors import AgentNotFound
from opscore.push import OutboundPolicy
from tests.support.backends import close_store, make_store
from tests.support.constants import API_KEY, AUTH

SECRET = "agentkit-test-secret"
REGISTER = {
    "type": "REGISTER",
    "agent": {"id": "kit-1", "name": "Kit", "capabilities": ["summarize"], "metadata": {"v": 1}},
}
DEREGISTER = {"type": "DEREGISTER", "agent": {"id": "kit-1"}}


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def kit_core(definitions, callbacks, clock, backend):
    store = make_store(backend, clock)
    policy = OutboundPolicy(frozenset({"agents.example.com"}))
    yield OpsCore(definitions, store, callbacks, clock=clock, push=policy, agentkit_secret=SECRET)
    close_store(store)


@pytest.fixture
def app(kit_core):
    return create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=kit_core)


def signed(event: dict, at: float, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers AgentKit sends for `event` at time `at`."""
    body = json.dumps(event).encode()
    timestamp = str(int(at))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    headers = {
        **AUTH,
        "Content-Type": "application/json",
        "X-AgentKit-Timestamp": timestamp,
        "X-AgentKit-Signature": f"sha256={digest.hexdigest()}",
    }
    return body, headers


def send(client, body: bytes, headers: dict[str, str]):
    return client.post("/v1/integrations/agentkit/events", data=body, headers=headers)


def agents(core) -> list[str]:
    return [agent.id for agent in core.agents.list().items]


def test_a_valid_register_registers_the_agent(client, kit_core, clock):
    response = send(client, *signed(REGISTER, clock.now()))

    assert response.status_code == 201
    assert response.json["id"] == "kit-1"
    assert "push_secret" not in response.json
    agent = kit_core.agents.get("kit-1")
    assert (agent.name, agent.capabilities, dict(agent.metadata)) == (
        "Kit",
        ("summarize",),
        {"v": 1},
    )


def test_a_register_with_an_endpoint_answers_the_push_secret_and_pushes_to_it(
    client, kit_core, clock
):
    event = {
        "type": "REGISTER",
        "agent": {"id": "kit-2", "endpoint": "https://agents.example.com/in"},
    }
    response = send(client, *signed(event, clock.now()))

    assert response.status_code == 201
    assert response.json["endpoint"] == "https://agents.example.com/in"
    assert kit_core.store.push.target("kit-2").secret == response.json["push_secret"]


def test_a_valid_deregister_removes_the_agent_and_its_push_target(client, kit_core, clock):
    event = {
        "type": "REGISTER",
        "agent": {"id": "kit-1", "endpoint": "https://agents.example.com/"},
    }
    assert send(client, *signed(event, clock.now())).status_code == 201
    clock.advance(1)

    response = send(client, *signed(DEREGISTER, clock.now()))

    assert response.status_code == 204
    with pytest.raises(AgentNotFound):
        kit_core.agents.get("kit-1")
    assert kit_core.store.push.target("kit-1") is None


def wrong_signature(body, headers):
    return body, {**headers, "X-AgentKit-Signature": "sha256=" + "0" * 64}


def body_changed(body, headers):
    return body.replace(b"kit-1", b"kit-9"), headers


def unsigned(body, headers):
    return body, {k: v for k, v in headers.items() if k != "X-AgentKit-Signature"}


def timestamp_changed(body, headers):
    sent = int(headers["X-AgentKit-Timestamp"])
    return body, {**headers, "X-AgentKit-Timestamp": str(sent + 1)}


def timestamp_not_a_number(body, headers):
    return body, {**headers, "X-AgentKit-Timestamp": "soon"}


@pytest.mark.parametrize(
    "forge", [wrong_signature, body_changed, unsigned, timestamp_changed, timestamp_not_a_number]
)
def test_a_forged_webhook_is_401_and_registers_nothing(client, kit_core, clock, forge):
    response = send(client, *forge(*signed(REGISTER, clock.now())))

    assert response.status_code == 401
    assert agents(kit_core) == []


def test_a_webhook_signed_with_another_secret_is_401_and_registers_nothing(client, kit_core, clock):
    response = send(client, *signed(REGISTER, clock.now(), secret="not-the-secret"))

    assert response.status_code == 401
    assert agents(kit_core) == []


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_webhook_stamped_outside_five_minutes_is_401_and_registers_nothing(
    client, kit_core, clock, offset
):
    response = send(client, *signed(REGISTER, clock.now() + offset))

    assert response.status_code == 401
    assert "more than 300 s" in response.json["message"]
    assert agents(kit_core) == []


def test_a_replayed_webhook_is_401_and_changes_nothing(client, kit_core, clock):
    register = signed(REGISTER, clock.now())
    assert send(client, *register).status_code == 201
    clock.advance(1)
    assert send(client, *signed(DEREGISTER, clock.now())).status_code == 204

    replayed = send(client, *register)  # within the window, so only its being seen refuses it

    assert replayed.status_code == 401
    assert "replay" in replayed.json["message"]
    assert agents(kit_core) == []


def test_a_signed_but_invalid_event_is_422_and_registers_nothing(client, kit_core, clock):
    response = send(client, *signed({"type": "RENAME", "agent": {"id": "kit-1"}}, clock.now()))

    assert response.status_code == 422
    assert agents(kit_core) == []


def test_a_register_with_a_forbidden_endpoint_is_422_and_registers_nothing(client, kit_core, clock):
    forbidden = {"type": "REGISTER", "agent": {"id": "kit-1", "endpoint": "https://evil.example/"}}
    response = send(client, *signed(forbidden, clock.now()))

    assert response.status_code == 422
    assert "OPSCORE_PUSH_ALLOWED_HOSTS" in response.json["errors"]["json"]["endpoint"][0]
    assert agents(kit_core) == []


def test_the_webhook_needs_an_api_key_as_well_as_its_signature(client, kit_core, clock):
    body, headers = signed(REGISTER, clock.now())
    del headers["X-API-Key"]

    assert send(client, body, headers).status_code == 401
    assert agents(kit_core) == []


def test_without_a_configured_secret_every_webhook_is_refused(definitions, callbacks, clock):
    core = OpsCore(definitions, make_store("memory://", clock), callbacks, clock=clock)
    app = create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=core)
    response = send(app.test_client(), *signed(REGISTER, clock.now(), secret=""))

    assert response.status_code == 401
    assert "OPSCORE_AGENTKIT_SECRET" in response.json["message"]
    assert agents(core) == []
