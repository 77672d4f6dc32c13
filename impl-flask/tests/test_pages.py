"""The pages: /, /docs and /static/<name> from WEB_DIR, with the spec's media types and 404s."""

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tasks_api.config import DEFAULT_WEB_DIR


@pytest.fixture
def web(tmp_path: Path) -> Path:
    """A WEB_DIR of our own, with a file of every kind."""
    root = tmp_path / "web"
    (root / "static").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>live</title>", encoding="utf-8")
    (root / "docs.html").write_text("<!doctype html><title>docs</title>", encoding="utf-8")
    (root / "static" / "app.js").write_text("console.log('ü')\n", encoding="utf-8")
    (root / "static" / "site.css").write_text("body{}\n", encoding="utf-8")
    (root / "static" / "notes.txt").write_text("not served\n", encoding="utf-8")
    (root / "secret.js").write_text("outside static/\n", encoding="utf-8")
    return root


@pytest.fixture
def pages(make_app: Callable[..., Flask], web: Path) -> FlaskClient:
    return make_app(WEB_DIR=str(web)).test_client()


@pytest.mark.parametrize(
    ("path", "file", "content_type"),
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/docs", "docs.html", "text/html; charset=utf-8"),
        ("/static/app.js", "static/app.js", "text/javascript; charset=utf-8"),
        ("/static/site.css", "static/site.css", "text/css; charset=utf-8"),
    ],
)
def test_pages_are_the_files_with_their_media_type(
    pages: FlaskClient, web: Path, path: str, file: str, content_type: str
) -> None:
    response = pages.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.get_data() == (web / file).read_bytes()
    head = pages.head(path)
    assert head.status_code == 200 and head.get_data() == b""
    assert (
        head.headers["Content-Length"] == response.headers["Content-Length"] == str(len(response.get_data()))
    )
    assert head.headers["Content-Type"] == content_type


@pytest.mark.parametrize(
    "name", ["notes.txt", "missing.js", ".hidden.js", "-x.js", "a b.js", "..%2Fsecret.js", "a" * 126 + ".js"]
)
def test_other_names_are_404_problems(pages: FlaskClient, name: str) -> None:
    response = pages.get(f"/static/{name}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["type"] == "https://tasks-api.example/problems/not-found"


def test_paths_outside_static_match_no_route(pages: FlaskClient) -> None:
    assert pages.get("/static/../secret.js").status_code == 404
    assert pages.get("/static/sub/app.js").status_code == 404
    assert pages.get("/static/").status_code == 404


def test_options_and_no_flask_static_route(pages: FlaskClient) -> None:
    response = pages.options("/static/app.js")
    assert response.status_code == 204 and response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert pages.options("/").headers["Allow"] == "GET, HEAD, OPTIONS"
    assert pages.post("/docs").status_code == 405
    assert [rule.rule for rule in pages.application.url_map.iter_rules() if "static" in rule.rule] == [
        "/static/<static_name:name>"
    ]


def test_the_default_web_dir_is_the_repositorys(client: FlaskClient) -> None:
    assert client.application.config["WEB_DIR"] == DEFAULT_WEB_DIR
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.get_data() == (DEFAULT_WEB_DIR / "docs.html").read_bytes()
