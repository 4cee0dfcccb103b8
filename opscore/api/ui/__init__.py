"""`/ui`: a small read-only web page over the JSON API, served with all of its assets.

The HTML routes are public and hold no data: the page asks for an API key, keeps it in
the tab's sessionStorage and reads everything through `/v1` with the `X-API-Key`
header. Scripts and styles are files (never inline), so a strict Content-Security-
Policy can forbid inline code.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, render_template

blp = Blueprint(
    "ui",
    __name__,
    url_prefix="/ui",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PUBLIC_ENDPOINTS = frozenset({"ui.overview", "ui.run", "ui.agent", "ui.static"})
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


MERMAID_BUILD = "vendor/mermaid.min.js"


def mermaid_available() -> bool:
    """Whether the Mermaid build (fetched by `make ui-assets`, not committed) can be served."""
    return (Path(blp.static_folder) / MERMAID_BUILD).is_file()


def _page(template: str) -> Response:
    """A page shell: markup and asset links only, never data."""
    body = render_template(template, mermaid_build=MERMAID_BUILD if mermaid_available() else None)
    return Response(body, mimetype="text/html", headers=PAGE_HEADERS)


@blp.get("")
@blp.get("/")
def overview() -> Response:
    """Agents with their states and runs with their steps, updating live."""
    return _page("ui/overview.html")


@blp.get("/runs/<string:run_id>")
def run(run_id: str) -> Response:
    """One run: its diagram, steps and history (the script reads the id from the URL)."""
    return _page("ui/run.html")


@blp.get("/agents/<string:agent_id>")
def agent(agent_id: str) -> Response:
    """One agent: its state, allowed events, diagram, sessions and history."""
    return _page("ui/agent.html")
