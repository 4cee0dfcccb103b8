"""`/ui` without a browser: public page shells with no data, local assets only, no inline code."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from opscore.api import ui
from tests.support.constants import AUTH

PAGES = ["/ui", "/ui/runs/some-run", "/ui/agents/some-agent"]
STATIC = Path(ui.blp.static_folder)
OUR_SCRIPTS = sorted(STATIC.glob("*.js"))
STRING_EVALUATION = r"\beval\s*\(|new\s+Function\s*\(|set(Timeout|Interval)\s*\(\s*['\"`]"


class Markup(HTMLParser):
    """The tags and attributes of a page, and the text inside its script and style tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_code: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag

    def handle_data(self, data: str) -> None:
        if self._open in ("script", "style") and data.strip():
            self.inline_code.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def served(client, url: str) -> tuple[int, str]:
    """The status and media type a static URL is served with (the file closed again)."""
    response = client.get(url)
    response.close()
    return response.status_code, response.mimetype


def asset_urls(markup: Markup) -> list[str]:
    return [
        attrs.get("src") or attrs["href"]
        for tag, attrs in markup.tags
        if tag == "script" or (tag == "link" and "href" in attrs)
    ]


@pytest.fixture
def secret_agent(client):
    response = client.post("/v1/agents", json={"id": "secret-agent-7"}, headers=AUTH)
    assert response.status_code == 201
    return response.json


@pytest.mark.parametrize("path", PAGES)
def test_ui_pages_are_public_html_that_hold_no_data(client, secret_agent, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "secret-agent-7" not in response.text
    assert "some-run" not in response.text  # the script reads the run id from the URL


@pytest.mark.parametrize("path", PAGES)
def test_ui_pages_have_no_inline_scripts_styles_or_handlers(client, path):
    markup = parse(client.get(path).text)
    assert markup.inline_code == []
    assert not [tag for tag, _ in markup.tags if tag == "style"]
    attributes = {name for _, attrs in markup.tags for name in attrs}
    assert "style" not in attributes
    assert not [name for name in attributes if name.startswith("on")]


@pytest.mark.parametrize("path", PAGES)
def test_ui_pages_load_every_asset_from_the_service_itself(client, path):
    urls = asset_urls(parse(client.get(path).text))
    assert "/ui/static/ui.js" in urls
    assert "/ui/static/ui.css" in urls
    for url in urls:
        assert url.startswith("/ui/static/"), url
        assert served(client, url)[0] == 200, url


def test_ui_scripts_and_styles_are_served_with_their_types(client):
    assert served(client, "/ui/static/ui.js") == (200, "text/javascript")
    assert served(client, "/ui/static/ui.css") == (200, "text/css")
    assert served(client, "/ui/static/favicon.svg") == (200, "image/svg+xml")


@pytest.mark.parametrize("script", OUR_SCRIPTS, ids=lambda path: path.name)
def test_ui_script_imports_only_modules_the_service_serves(client, script):
    for module in re.findall(r'from "\./([\w.]+\.js)"', script.read_text()):
        assert served(client, f"/ui/static/{module}")[0] == 200, module


@pytest.mark.parametrize("script", OUR_SCRIPTS, ids=lambda path: path.name)
def test_ui_script_never_evaluates_strings_or_calls_other_hosts(script):
    code = script.read_text()
    assert not re.search(STRING_EVALUATION, code)
    assert not re.search(r"https?://", code)
    if script.name != "diagram.js":  # which inserts Mermaid's own sanitized SVG
        assert "innerHTML" not in code


def test_run_page_does_not_link_a_missing_mermaid_build(client, monkeypatch):
    monkeypatch.setattr(ui, "MERMAID_BUILD", "vendor/not-fetched.js")
    urls = asset_urls(parse(client.get("/ui/runs/some-run").text))
    assert not [url for url in urls if "vendor" in url]


@pytest.mark.parametrize("path", PAGES)
def test_ui_pages_cannot_be_framed_sniffed_or_cached(client, path):
    headers = client.get(path).headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/ui/static/../__init__.py", "/ui/static/%2e%2e/__init__.py"])
def test_ui_static_route_serves_nothing_outside_its_folder(client, path):
    response = client.get(path)
    assert response.status_code in (401, 404)
    assert "Blueprint" not in response.text


def test_api_still_requires_a_key_after_the_page_is_served(client, secret_agent):
    client.get("/ui")
    assert client.get("/v1/agents").status_code == 401
