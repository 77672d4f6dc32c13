"""Pages: /, /docs and /static/{name} from WEB_DIR, their media types, and 404 for everything else."""

from pathlib import Path

import pytest
from tasks_api.config import DEFAULT_WEB_DIR

HTML = "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("path", "file", "media_type"),
    [
        ("/", "index.html", HTML),
        ("/docs", "docs.html", HTML),
        ("/static/docs.js", "static/docs.js", "text/javascript; charset=utf-8"),
        ("/static/swagger-ui.css", "static/swagger-ui.css", "text/css; charset=utf-8"),
    ],
)
def test_pages_are_the_repository_files(client, path, file, media_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.content == (DEFAULT_WEB_DIR / file).read_bytes()
    head = client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == response.headers["content-length"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/missing.js",
        "/static/.hidden.js",
        "/static/-dash.css",
        "/static/SWAGGER-UI-LICENSE",
        "/static/docs.JS",
        "/static/docs.js.map",
        "/static/..%2Fdocs.html",
        "/static/" + "a" * 126 + ".js",
        "/static/",
        "/redoc",
        "/openapi.json",
        "/docs/oauth2-redirect",
    ],
)
def test_anything_else_is_a_404_problem(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://tasks-api.example/problems/not-found"


def test_pages_come_from_web_dir_and_a_missing_page_is_404(make_client, tmp_path: Path):
    (tmp_path / "static").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><p>here")
    (tmp_path / "static" / "app.js").write_text("1;")
    client = make_client(WEB_DIR=str(tmp_path))
    assert client.get("/").text == "<!doctype html><p>here"
    assert client.get("/static/app.js").text == "1;"
    assert client.get("/docs").status_code == 404


def test_pages_answer_options_and_405_like_every_path(client):
    for path in ("/", "/docs", "/static/docs.js"):
        options = client.options(path)
        assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS"
        refused = client.post(path)
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD, OPTIONS"
