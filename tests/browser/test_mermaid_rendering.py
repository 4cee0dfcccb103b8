"""Every diagram the service draws renders in real Mermaid, in a real browser."""

from __future__ import annotations

import pytest
import yaml

from tests.support.constants import MACHINES
from tests.support.polling import poll_until

SHIPPED = sorted(MACHINES.glob("*.yaml")) + sorted((MACHINES / "workflows").glob("*.yaml"))

LOAD_MERMAID = """
const done = arguments[arguments.length - 1];
if (window.mermaid) { done("ready"); return; }
const script = document.createElement("script");
script.src = arguments[0];
script.onload = () => {
  mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
  done("ready");
};
script.onerror = () => done("the Mermaid build did not load");
document.head.append(script);
"""
RENDER = """
const [text, id, done] = arguments;
mermaid.parse(text)
  .then(() => mermaid.render(id, text))
  .then(({svg}) => {
    const box = document.createElement("div");
    box.innerHTML = svg;
    document.body.append(box);
    const nodes = [...box.querySelectorAll("g.node")];
    done({
      svg,
      labels: nodes.map((node) => node.textContent.trim()),
      classes: Object.fromEntries(nodes.map((node) => [node.textContent.trim(),
                                                        [...node.classList]])),
    });
  })
  .catch((error) => done({error: String(error && error.message || error)}));
"""


@pytest.fixture
def render(browser, live_server, mermaid_build):
    """Render Mermaid text in the browser, on a page of the live server that loads Mermaid."""
    browser.get(f"{live_server.url}/ui")
    loaded = browser.execute_async_script(LOAD_MERMAID, "/ui/static/vendor/mermaid.min.js")
    assert loaded == "ready"
    counter = iter(range(1_000))

    def draw(text: str) -> dict:
        result = browser.execute_async_script(RENDER, text, f"diagram-{next(counter)}")
        assert "error" not in result, f"Mermaid could not draw:\n{text}\n{result['error']}"
        assert result["svg"].startswith("<svg")
        assert "Syntax error" not in result["svg"]
        return result

    return draw


def step_names(steps: dict) -> list[str]:
    """Every step of a template drawn as a state of its own: a parallel or map step is a
    frame around its branches' and items' steps."""
    names = []
    for name, step in steps.items():
        if "parallel" not in step and "map" not in step:
            names.append(name)
        for branch in step.get("parallel", {}).get("branches", {}).values():
            names += step_names(branch["steps"])
        if "map" in step:
            names += step_names(step["map"]["steps"])
    return names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.relative_to(MACHINES).as_posix())
def test_every_shipped_machine_renders_as_an_svg_with_all_its_states(render, live_server, path):
    definition = yaml.safe_load(path.read_text())
    status, text = live_server.call("GET", f"/v1/machines/{definition['name']}/diagram")
    assert status == 200
    drawn = render(text)
    if definition.get("kind") == "workflow":
        states = [*step_names(definition["steps"]), "succeeded"]
    else:
        states = [s if isinstance(s, str) else s["name"] for s in definition["states"]]
    assert set(states) <= set(drawn["labels"])


def test_live_agent_diagram_renders_with_its_current_state_highlighted(render, live_server):
    live_server.call("POST", "/v1/agents", {"id": "writer-1"})
    live_server.call("POST", "/v1/agents/writer-1/events", {"event": "activate"})
    status, text = live_server.call("GET", "/v1/agents/writer-1/diagram")
    assert status == 200
    drawn = render(text)
    assert "s_active" in drawn["classes"]["active"]
    assert "s_default" in drawn["classes"]["idle"]


def test_failed_run_diagram_renders_with_its_failed_step_and_state_highlighted(render, live_server):
    live_server.call("POST", "/v1/agents", {"id": "reviewer-1"})
    status, run = live_server.call(
        "POST",
        "/v1/workflows/review_document/runs",
        {"input": {"document": "Q3 plan"}, "agent_id": "reviewer-1"},
    )
    assert status == 202
    poll_until(lambda: live_server.call("GET", "/v1/agents/reviewer-1/tasks")[1], what="task")
    failure = {"error": "Review.Refused", "message": "not my field"}
    live_server.call("POST", f"/v1/runs/{run['id']}/steps/review/fail", failure)
    poll_until(
        lambda: live_server.call("GET", f"/v1/runs/{run['id']}")[1]["state"] == "failed",
        what="the run to fail",
    )
    status, text = live_server.call("GET", f"/v1/runs/{run['id']}/diagram")
    assert status == 200
    drawn = render(text)
    assert "s_failed" in drawn["classes"]["review"]
    assert "s_active" in drawn["classes"]["failed"]
    assert "s_default" in drawn["classes"]["publish"]
