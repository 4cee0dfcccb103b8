"""`OpsCoreClient` against a real service: each method, and the API's errors as exceptions."""

from __future__ import annotations

import pytest

from opscore.client import (
    Conflict,
    EventNotAllowed,
    NotFound,
    OpsCoreClient,
    PreconditionFailed,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from tests.support.constants import MACHINES
from tests.support.upgrades import AGENT_V2


@pytest.fixture
def writer(api):
    """A registered agent `writer-1` with the capability `summarize`."""
    return api.agents.register("writer-1", name="Writer", capabilities=["summarize"])


def test_health_answers_without_an_api_key(server_url):
    health = OpsCoreClient(server_url, api_key="").health()
    assert (health["status"], health["store"]) == ("ok", "memory")


def test_register_answers_the_agent_with_its_etag(writer):
    assert (writer["id"], writer["name"], writer["state"]) == ("writer-1", "Writer", "idle")
    assert writer["capabilities"] == ["summarize"]
    assert writer.etag.startswith('"1.')
    assert writer.replayed is False


def test_register_without_an_id_gets_a_generated_one(api):
    agent = api.agents.register(metadata={"team": "docs"})
    assert api.agents.get(agent["id"])["metadata"] == {"team": "docs"}


def test_get_answers_the_agent_and_its_current_etag(api, writer):
    fired = api.agents.send_event("writer-1", "activate")
    agent = api.agents.get("writer-1")
    assert agent["state"] == "active"
    assert agent.etag == fired.etag != writer.etag


def test_list_filters_by_state_and_reports_pagination(api):
    for name in ("a1", "a2", "a3"):
        api.agents.register(name)
    api.agents.send_event("a2", "activate")
    page = api.agents.list(state="idle", page_size=1)
    assert [a["id"] for a in page] == ["a1"]
    assert (page.page, page.total, page.total_pages, page.next_page) == (1, 2, 2, 2)
    assert [a["id"] for a in api.agents.list(state="idle", page=2, page_size=1)] == ["a3"]


def test_list_filters_by_capability_and_machine(api, writer):
    api.agents.register("plain")
    assert [a["id"] for a in api.agents.list(capability="summarize")] == ["writer-1"]
    assert len(api.agents.list(machine="agent")) == 2


def test_iterate_walks_every_page(api):
    for number in range(5):
        api.agents.register(f"agent-{number}")
    ids = [agent["id"] for agent in api.agents.iterate(page_size=2)]
    assert ids == [f"agent-{number}" for number in range(5)]


def test_send_event_answers_the_agent_and_the_transition(api, writer):
    answer = api.agents.send_event("writer-1", "activate", {"task": "weekly report"})
    assert answer["agent"]["state"] == "active"
    assert {k: answer["transition"][k] for k in ("seq", "event", "source", "dest", "data")} == {
        "seq": 1,
        "event": "activate",
        "source": "idle",
        "dest": "active",
        "data": {"task": "weekly report"},
    }


def test_history_since_seq_answers_only_later_transitions(api, writer):
    for event in ("activate", "complete", "activate"):
        api.agents.send_event("writer-1", event)
    assert [r["event"] for r in api.agents.history("writer-1")] == [
        "activate",
        "complete",
        "activate",
    ]
    assert [r["seq"] for r in api.agents.history("writer-1", since_seq=2)] == [3]


def test_upgrade_moves_the_agent_to_the_new_version_and_answers_the_transition(api, writer):
    api.agents.send_event("writer-1", "activate")
    api.machines.put("agent", AGENT_V2)
    answer = api.agents.upgrade("writer-1", 2, {"active": "working"})
    assert (answer["agent"]["machine"]["version"], answer["agent"]["state"]) == (2, "working")
    assert answer["transition"]["event"] == "(upgrade)"


def test_delete_removes_the_agent(api, writer):
    api.agents.delete("writer-1")
    with pytest.raises(NotFound):
        api.agents.get("writer-1")


def test_unknown_agent_is_not_found_with_the_apis_message(api):
    with pytest.raises(NotFound) as raised:
        api.agents.get("ghost")
    error = raised.value
    assert (error.status, error.code) == (404, "Not Found")
    assert error.message == "agent 'ghost' not found"


def test_event_not_allowed_carries_the_state_and_the_allowed_events(api, writer):
    api.agents.send_event("writer-1", "activate")
    with pytest.raises(EventNotAllowed) as raised:
        api.agents.send_event("writer-1", "resume")
    error = raised.value
    assert (error.status, error.event, error.state) == (409, "resume", "active")
    assert error.allowed_events == ["complete", "pause", "fail", "terminate"]
    assert isinstance(error, Conflict)


def test_event_refused_by_its_conditions_names_the_guards(api, writer):
    api.agents.send_event("writer-1", "fail")
    with pytest.raises(EventNotAllowed) as raised:
        api.agents.send_event("writer-1", "reset")  # needs data.reason
    assert raised.value.guards == ["has_reason"]


def test_taken_id_is_a_conflict_without_allowed_events(api, writer):
    with pytest.raises(Conflict) as raised:
        api.agents.register("writer-1")
    assert not isinstance(raised.value, EventNotAllowed)
    assert raised.value.message == "agent 'writer-1' already exists"


def test_stale_if_match_is_precondition_failed_and_changes_nothing(api, writer):
    api.agents.send_event("writer-1", "activate")
    with pytest.raises(PreconditionFailed) as raised:
        api.agents.send_event("writer-1", "pause", if_match=writer.etag)
    assert raised.value.current_etag == api.agents.get("writer-1").etag
    assert api.agents.get("writer-1")["state"] == "active"


def test_current_if_match_fires_the_event(api, writer):
    answer = api.agents.send_event("writer-1", "activate", if_match=writer.etag)
    assert answer["agent"]["state"] == "active"


def test_unknown_event_is_validation_failed_naming_the_field(api, writer):
    with pytest.raises(ValidationFailed) as raised:
        api.agents.send_event("writer-1", "fly")
    assert raised.value.status == 422
    assert raised.value.errors["json"] == {"event": ["machine 'agent' has no event 'fly'"]}


def test_unknown_api_key_is_unauthorized(server_url):
    with pytest.raises(Unauthorized) as raised:
        OpsCoreClient(server_url, "wrong-key").agents.list()
    assert raised.value.headers["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'


def test_sessions_open_fire_list_and_history(api, writer):
    session = api.sessions.open("writer-1", metadata={"topic": "q3"})
    assert (session["agent_id"], session["state"]) == ("writer-1", "waiting")
    answer = api.sessions.send_event(session["id"], "start", if_match=session.etag)
    assert answer["session"]["state"] == "processing"
    assert api.sessions.get(session["id"])["metadata"] == {"topic": "q3"}
    assert [s["id"] for s in api.sessions.list("writer-1", state="processing")] == [session["id"]]
    assert [r["event"] for r in api.sessions.history(session["id"])] == ["start"]


def test_machines_list_get_and_diagram(api):
    names = [m["name"] for m in api.machines.list(kind="agent")]
    assert names == ["agent"]
    agent = api.machines.get("agent", version=1)
    assert agent["initial"] == "idle"
    assert "stateDiagram-v2" in api.machines.diagram("agent", state="idle")


def test_validate_reports_problems_without_loading(api):
    good = api.machines.validate((MACHINES / "agent.yaml").read_text(), file="agent.yaml")
    assert (good["valid"], good["machine"]["name"]) == (True, "agent")
    bad = api.machines.validate("kind: agent\nname: x\n", file="x.yaml")
    assert bad["valid"] is False
    assert bad["problems"][0]["text"].startswith("x.yaml:1: ")


def test_validate_with_an_unreadable_content_type_is_unsupported_media_type(api):
    with pytest.raises(UnsupportedMediaType):
        api.machines.validate("kind: agent", content_type="text/plain")


def test_workflows_list_get_and_diagram(api):
    assert "review_document" in [w["name"] for w in api.workflows.list(page_size=100)]
    assert api.workflows.get("review_document")["start"] == "review"
    assert "stateDiagram-v2" in api.workflows.diagram("three_noops")
