"""/docs in a real browser: Swagger UI renders every operation under its strict CSP."""

from __future__ import annotations

from tests.support.constants import BROWSER_WAIT_SECONDS


def test_swagger_ui_renders_the_operations_with_local_assets_under_its_policy(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/docs")
    WebDriverWait(browser, BROWSER_WAIT_SECONDS).until(
        shown.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")),
        "Swagger UI showed no operation",
    )
    paths = {
        e.text.replace("\u200b", "")
        for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert {"/v1/agents", "/v1/events/stream", "/health"} <= paths
    refused = [
        entry
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry.get("message", "")
    ]
    assert refused == []
