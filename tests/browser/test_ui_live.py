"""/ui in a real browser: log in with a key, follow a run live, never reload the page."""

from __future__ import annotations

import json
import queue
import re
import threading

import pytest
from flask import Blueprint, Response

from tests.support.constants import API_KEY, BROWSER_WAIT_SECONDS
from tests.support.polling import poll_until


@pytest.fixture
def page(browser, live_server):
    """Helpers to drive the page at the live server, waiting (never sleeping) for it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    class Page:
        def open(self, path: str) -> None:
            browser.get(live_server.url + path)

        def find(self, css: str):
            return WebDriverWait(browser, BROWSER_WAIT_SECONDS).until(
                shown.visibility_of_element_located((By.CSS_SELECTOR, css)), f"no {css}"
            )

        def wait_for_text(self, css: str, text: str) -> None:
            WebDriverWait(browser, BROWSER_WAIT_SECONDS).until(
                shown.text_to_be_present_in_element((By.CSS_SELECTOR, css), text),
                f"{css} never showed {text!r}",
            )

        def log_in(self, key: str) -> None:
            self.find("#login input[name=key]").send_keys(key)
            self.find("#login button[type=submit]").click()

    return Page()


@pytest.fixture
def waiting_run(live_server):
    """A review_document run bound to an agent, waiting for the agent's `review` report."""
    live_server.call("POST", "/v1/agents", {"id": "reviewer-1", "capabilities": ["review"]})
    status, run = live_server.call(
        "POST",
        "/v1/workflows/review_document/runs",
        {"input": {"document": "Q3 plan"}, "agent_id": "reviewer-1"},
    )
    assert status == 202
    poll_until(lambda: live_server.call("GET", "/v1/agents/reviewer-1/tasks")[1], what="the task")
    return run


@pytest.fixture
def event_stream(live_server):
    """A stand-in for GET /v1/events/stream (built elsewhere): it sends what the test puts.

    Registered after the app's own routes, so once the real stream exists it wins and
    this stand-in is never reached.
    """
    events: queue.Queue = queue.Queue()
    closing = threading.Event()
    blueprint = Blueprint("stand_in_event_stream", __name__)

    @blueprint.get("/v1/events/stream")
    def stream() -> Response:
        def messages():
            yield ": connected\n\n"
            while not closing.is_set():
                try:
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                yield f"id: {event['gid']}\nevent: transition\ndata: {json.dumps(event)}\n\n"

        return Response(messages(), mimetype="text/event-stream")

    live_server.app.register_blueprint(blueprint)
    yield events
    closing.set()


def test_page_without_a_key_shows_only_the_login_form(browser, live_server, page):
    live_server.call("POST", "/v1/agents", {"id": "secret-agent"})
    page.open("/ui")
    page.find("#login")
    assert not browser.find_element("id", "content").is_displayed()
    assert "secret-agent" not in browser.page_source


def test_unknown_key_is_refused_and_nothing_is_shown(browser, live_server, page):
    live_server.call("POST", "/v1/agents", {"id": "secret-agent"})
    page.open("/ui")
    page.log_in("not-the-key")
    page.wait_for_text("#login-error", "That key was not accepted.")
    assert not browser.find_element("id", "content").is_displayed()
    assert "secret-agent" not in browser.page_source
    assert browser.execute_script("return sessionStorage.length") == 0


def test_run_page_shows_the_next_state_without_a_reload_when_the_agent_completes_its_step(
    browser, live_server, page, artifacts, mermaid_build
):
    live_server.call("POST", "/v1/agents", {"id": "reviewer-1", "capabilities": ["review"]})
    page.open("/ui")
    page.log_in(API_KEY)
    page.wait_for_text('#agents tr[data-agent-id="reviewer-1"] .agent-state', "idle")

    status, run = live_server.call(
        "POST",
        "/v1/workflows/review_document/runs",
        {"input": {"document": "Q3 plan"}, "agent_id": "reviewer-1"},
    )
    assert status == 202
    row = f'#runs tr[data-run-id="{run["id"]}"]'
    page.wait_for_text(f"{row} .run-current", "review waiting")
    page.wait_for_text('#agents tr[data-agent-id="reviewer-1"] .agent-state', "active")
    assert browser.save_screenshot(str(artifacts / "ui-overview.png"))
    page.find(f"{row} a").click()

    page.wait_for_text("#run-state", "review")
    page.wait_for_text('#steps tr[data-step="review"] .step-status', "waiting")
    page.find("#diagram svg")
    browser.execute_script("window.opscoreSamePage = true")

    output = {"verdict": "approve", "notes": "ship it"}
    status, _ = live_server.call(
        "POST", f"/v1/runs/{run['id']}/steps/review/complete", {"output": output}
    )
    assert status == 200

    page.wait_for_text("#run-state", "succeeded")
    page.wait_for_text('#steps tr[data-step="publish"] .step-status', "succeeded")
    page.wait_for_text("#history tbody", "choose_publish")
    page.find('#diagram svg g.node.s_active[id*="succeeded"]')
    assert browser.execute_script("return window.opscoreSamePage") is True
    assert browser.save_screenshot(str(artifacts / "ui-run-succeeded.png"))


def test_run_page_follows_the_event_stream_when_the_service_has_one(
    browser, live_server, page, event_stream, waiting_run
):
    run_id = waiting_run["id"]
    page.open(f"/ui/runs/{run_id}")
    page.log_in(API_KEY)
    page.find('#live-status[data-mode="stream"]')
    page.wait_for_text('#steps tr[data-step="review"] .step-status', "waiting")
    # The first load and the catch-up when the stream opened; from here on, only an
    # event can make the page read the run again.
    poll_until(lambda: live_server.answered[f"/v1/runs/{run_id}"] >= 2, what="the catch-up")
    browser.execute_script("window.opscoreSamePage = true")

    status, answer = live_server.call(
        "POST", f"/v1/runs/{run_id}/steps/review/complete", {"output": {"verdict": "approve"}}
    )
    assert status == 200
    record = answer["transition"]
    event_stream.put(
        {
            "gid": 1,
            "kind": "run",
            "instance_id": run_id,
            "agent_id": "reviewer-1",
            "run_id": run_id,
            "machine": "review_document",
            "version": 1,
            "seq": record["seq"],
            "event": record["event"],
            "source": record["source"],
            "dest": record["dest"],
            "at": record["at"],
            "data": record["data"],
        }
    )
    page.wait_for_text("#history tbody", "succeed")
    assert browser.execute_script("return window.opscoreSamePage") is True


def test_agent_page_shows_state_allowed_events_sessions_history_and_current_state(
    browser, live_server, page, waiting_run, artifacts, mermaid_build
):
    status, session = live_server.call("POST", "/v1/agents/reviewer-1/sessions", {})
    assert status == 201
    page.open("/ui")
    page.log_in(API_KEY)
    page.find('#agents tr[data-agent-id="reviewer-1"] a').click()
    page.wait_for_text("#agent-state", "active")
    page.wait_for_text("#agent-events", "complete")
    page.wait_for_text("#agent-capabilities", "review")
    page.wait_for_text(f'#sessions tr[data-session-id="{session["id"]}"] .session-state', "waiting")
    page.wait_for_text("#history tbody", "activate")
    page.find('#diagram svg g.node.s_active[id*="active"]')
    assert browser.save_screenshot(str(artifacts / "ui-agent.png"))


def test_a_run_that_does_not_exist_gets_a_clear_message_not_an_empty_page(
    browser, live_server, page
):
    page.open("/ui/runs/nosuch")
    page.log_in(API_KEY)
    page.wait_for_text("#run-missing", "There is no run nosuch")
    assert not browser.find_element("id", "run-details").is_displayed()
    assert not browser.find_element("id", "problem").is_displayed()


def test_times_carry_their_date_and_zone_and_attempts_their_count_apart_from_the_time(
    browser, live_server, page, waiting_run
):
    page.open(f"/ui/runs/{waiting_run['id']}")
    page.log_in(API_KEY)
    page.wait_for_text('#steps tr[data-step="review"] .attempt-count', "1")
    attempts = page.find('#steps tr[data-step="review"] .attempts').text
    assert re.fullmatch(r"1 · last started .+", attempts), attempts
    updated_at = live_server.call("GET", f"/v1/runs/{waiting_run['id']}")[1]["updated_at"]
    page.find(f'#run-updated time[datetime="{updated_at}"]')
    shown = page.find("#run-updated time").text
    assert updated_at[:4] in shown, shown  # the date, not only the time of day
    assert re.search(r"[A-Z]{2,5}([+-]\d{1,2}(:\d\d)?)?$", shown), shown  # and the zone
