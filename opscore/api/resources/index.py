"""`/`: a small public index of where the page, the API reference and the document are."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ... import __version__
from ..http import json_response

LINKS = (
    ("ui", "/ui", "the web page: agents and runs, live"),
    ("docs", "/docs", "the API reference (Swagger UI)"),
    ("openapi", "/openapi.json", "the OpenAPI document"),
    ("health", "/health", "liveness and readiness"),
)
PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Ops-Core</title></head>
<body>
<h1>Ops-Core {version}</h1>
<ul>
{items}
</ul>
</body>
</html>
"""

blp = Blueprint("index", __name__)


@blp.get("/")
def index() -> Response:
    """Links to /ui, /docs, /openapi.json and /health: HTML for a browser, JSON otherwise."""
    if request.accept_mimetypes.best_match(("application/json", "text/html")) == "text/html":
        items = "\n".join(
            f'<li><a href="{href}">{href}</a>: {text}</li>' for _, href, text in LINKS
        )
        return Response(PAGE.format(version=__version__, items=items), mimetype="text/html")
    body = {
        "name": "Ops-Core",
        "version": __version__,
        "links": {name: {"href": href, "description": text} for name, href, text in LINKS},
    }
    return json_response(body, 200)
