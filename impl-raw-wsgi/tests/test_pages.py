"""The pages: /, /docs and /static/{name} from WEB_DIR, byte for byte; 404 problem+json for anything else."""

import dataclasses

import pytest
from tasks_api.app import create_app

FILES = {
    "index.html": b"<!doctype html><title>live</title>\n",
    "docs.html": b"<!doctype html><title>docs</title>\n",
    "static/app.js": b"console.log('\xc3\xa9');\n",
    "static/app.css": b"body { margin: 0 }\n",
    "static/notes.txt": b"not served\n",
    "static/.hidden.js": b"not served\n",
    "secret.js": b"outside static/\n",
}


@pytest.fixture
def web(settings, database, make_client, tmp_path):
    web_dir = tmp_path / "web"
    for name, content in FILES.items():
        (web_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (web_dir / name).write_bytes(content)
    (web_dir / "static" / "folder.js").mkdir()
    return make_client(create_app(dataclasses.replace(settings, web_dir=web_dir), database))


@pytest.mark.parametrize(
    ("path", "name", "media_type"),
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/docs", "docs.html", "text/html; charset=utf-8"),
        ("/static/app.js", "static/app.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "static/app.css", "text/css; charset=utf-8"),
    ],
)
def test_files_are_served_as_they_are_without_authentication(web, path, name, media_type):
    result = web.get(path)
    assert (result.status, result.headers["content-type"], result.body) == (200, media_type, FILES[name])
    head = web.request("HEAD", path)
    assert (head.status, head.headers, head.body) == (
        200,
        result.headers | {"x-request-id": head.headers["x-request-id"]},
        b"",
    )


@pytest.mark.parametrize(
    "path",
    [
        "/static/notes.txt",  # another extension
        "/static/missing.js",
        "/static/folder.js",  # a directory
        "/static/.hidden.js",  # outside the name pattern
        "/static/../secret.js",
        "/static/..",
        "/static/a/app.js",
        "/static/app.js/",
        "/static/",
        "/static/" + "a" * 126 + ".js",  # over 128 characters
        "/index.html",
    ],
)
def test_anything_else_is_404_problem(web, path):
    result = web.get(path)
    assert (result.status, result.problem_type) == (404, "not-found")
    assert result.headers["content-type"] == "application/problem+json"


def test_methods_of_the_pages(web):
    for path in ("/", "/docs", "/static/app.js"):
        options = web.request("OPTIONS", path)
        assert (options.status, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
        post = web.post(path, {})
        assert (post.status, post.headers["allow"]) == (405, "GET, HEAD, OPTIONS")


def test_the_repository_web_dir_is_the_default(client, settings):
    assert client.get("/docs").body == (settings.web_dir / "docs.html").read_bytes()
