"""`/` points at the page, the reference and the document; unknown paths are 404s."""

from __future__ import annotations

import pytest


def test_root_answers_a_json_index_of_the_public_pages_without_a_key(client):
    response = client.get("/")
    assert response.status_code == 200
    links = {name: link["href"] for name, link in response.json["links"].items()}
    assert links == {
        "ui": "/ui",
        "docs": "/docs",
        "openapi": "/openapi.json",
        "health": "/health",
    }


def test_root_answers_html_links_to_a_browser(client):
    response = client.get("/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    for href in ("/ui", "/docs", "/openapi.json"):
        assert f'href="{href}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/nosuch", "/v1/nosuch", "/v2/agents", "/ui/nosuch/page"])
def test_an_unknown_path_is_404_without_a_key(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["code"] == 404


@pytest.mark.parametrize("path", ["/ui/", "/docs/"])
def test_pages_answer_with_a_trailing_slash(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
