"""GET /, /docs and /static/{name}: the repository's web/ files, exact media types, 404 for anything else."""

import pytest
from django.conf import settings


@pytest.mark.parametrize(("path", "file"), [("/", "index.html"), ("/docs", "docs.html")])
def test_pages_are_the_files(client, path, file):
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == (settings.WEB_DIR / file).read_bytes()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("docs.js", "text/javascript; charset=utf-8"), ("swagger-ui.css", "text/css; charset=utf-8")],
)
def test_static_files(client, name, content_type):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert response.content == (settings.WEB_DIR / "static" / name).read_bytes()


@pytest.mark.parametrize("name", ["nope.js", ".hidden.js", "..", "x.txt", "a" * 126 + ".js", "%2e%2e"])
def test_other_names_are_not_found(client, name):
    response = client.get(f"/static/{name}")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_head_of_a_page_has_no_body(client):
    response = client.head("/docs")
    assert response.status_code == 200 and response.content == b""
