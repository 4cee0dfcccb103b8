"""`/docs`: Swagger UI served entirely from local files, so it works offline."""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

# A file rather than an inline script, so the page's Content-Security-Policy can forbid those.
INIT_SCRIPT = 'window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });\n'
SWAGGER_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-16x16.png", "favicon-32x32.png"}
)
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ops-Core API</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/static/opscore-docs.js"></script>
</body>
</html>
"""

blp = Blueprint("docs", __name__)


@blp.get("/docs")
@blp.get("/docs/")
def page() -> Response:
    """The Swagger UI page."""
    return Response(PAGE, mimetype="text/html")


@blp.get("/docs/static/<string:filename>")
def asset(filename: str) -> Response:
    """A Swagger UI asset, from the swagger-ui-bundle package or our own static folder."""
    if filename in SWAGGER_FILES:
        return send_from_directory(str(swagger_ui_path), filename, max_age=3600)
    if filename == "opscore-docs.js":
        return Response(INIT_SCRIPT, mimetype="text/javascript")
    abort(404)
