"""The pages: /, /docs and /static/{name}, byte for byte from web/; 404 for anything else (spec: Pages)."""

from pathlib import Path

import httpx
import pytest
from conformance.api import affinity, assert_problem
from conformance.paths import WEB_DIR
from conformance.routes import assert_allow

from conformance import rawhttp

HTML = "text/html; charset=utf-8"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
PAGES = {"/": "index.html", "/docs": "docs.html"}
# Every file of web/static/ is served; the list is read when the tests are collected.
STATIC = sorted(path.name for path in (WEB_DIR / "static").iterdir() if path.suffix in MEDIA_TYPES)
# Headers a server sets per response, which HEAD and GET may legitimately differ on.
PER_RESPONSE = {"date", "x-request-id", "server", "connection", "keep-alive", "transfer-encoding"}

# Names that are not a served file: unknown, another extension, outside the name pattern.
NOT_SERVED = [
    "nope.js",
    "x.txt",
    "index.html",  # in web/, not web/static/, and not .js or .css
    "docs.js.map",
    "docs",
    ".hidden",
    ".hidden.js",
    "-docs.js",
    "docs.js~",
    "a" * 200 + ".js",
]
# Sent on a bare socket, because an HTTP client would normalise the dot segments away.
TRAVERSALS = [
    "/static/..",
    "/static/%2e%2e",
    "/static/../index.html",
    "/static/..%2Findex.html",
    "/static/..%2F..%2Fspec%2Fopenapi.yaml",
    "/static/%2Fetc%2Fpasswd",
    "/static/sub%2Fdocs.js",
    "/static/docs.js/",
    "/static/",
    "/static",
]


def test_the_pages_need_the_expected_files() -> None:
    # The tests below read these; the live page's own files must exist.
    assert {"app.js", "app.css", "docs.js", "swagger-ui-bundle.js", "swagger-ui.css"} <= set(STATIC)


@pytest.mark.parametrize(("path", "name"), PAGES.items())
def test_page_is_the_repository_file(client: httpx.Client, web_dir: Path, path: str, name: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == HTML
    assert response.headers.get("x-request-id")
    assert response.content == (web_dir / name).read_bytes()
    _assert_no_validators(response)


def _assert_no_validators(response: httpx.Response) -> None:
    # Pages carry no validators: a port that sent one would have to honour If-None-Match too (spec).
    assert "etag" not in response.headers and "last-modified" not in response.headers, response.headers


@pytest.mark.parametrize("name", STATIC)
def test_static_file_is_the_repository_file(client: httpx.Client, web_dir: Path, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPES[Path(name).suffix]
    assert response.headers.get("x-request-id")
    assert response.content == (web_dir / "static" / name).read_bytes()
    _assert_no_validators(response)


def test_pages_need_no_authentication(client: httpx.Client) -> None:
    # The pages are public; they call the API with the token the user gets on the page.
    for path in ("/", "/docs", "/static/app.js"):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("name", NOT_SERVED)
def test_other_names_are_not_found(client: httpx.Client, name: str) -> None:
    assert_problem(client.get(f"/static/{name}"), "not-found")


@pytest.mark.parametrize("target", TRAVERSALS)
def test_nothing_outside_static_is_reachable(address: tuple[str, int], target: str) -> None:
    request = rawhttp.request_bytes("GET", target, f"{address[0]}:{address[1]}", {"Connection": "close"})
    assert_problem(rawhttp.as_httpx(rawhttp.exchange(address, request)), "not-found")


@pytest.mark.parametrize("path", ["/", "/docs", "/static/app.js", "/static/swagger-ui.css", "/static/x.txt"])
def test_head_is_get_without_a_body(client: httpx.Client, path: str) -> None:
    pinned = affinity()  # HEAD mirrors the GET of the same server (see test_methods)
    get, head = client.get(path, headers=pinned), client.head(path, headers=pinned)
    assert head.status_code == get.status_code
    comparable = [
        {name: value for name, value in response.headers.items() if name not in PER_RESPONSE}
        for response in (get, head)
    ]
    assert comparable[0] == comparable[1]
    assert head.content == b""


# A name outside the pattern is no route at all, like an id with a leading zero: 404 for every method.
@pytest.mark.parametrize("name", [".hidden", ".hidden.js", "-docs.js", "docs.js~", "a" * 200 + ".js"])
def test_a_name_outside_the_pattern_is_no_route(client: httpx.Client, name: str) -> None:
    assert_problem(client.options(f"/static/{name}"), "not-found")
    assert_problem(client.delete(f"/static/{name}"), "not-found")


@pytest.mark.parametrize("path", ["/", "/docs", "/static/app.js"])
def test_options_and_unserved_methods(client: httpx.Client, path: str) -> None:
    options = client.options(path)
    assert options.status_code == 204
    assert_allow(options.headers.get("allow"), path)
    post = client.post(path, json={})
    assert_problem(post, "method-not-allowed")
    assert_allow(post.headers.get("allow"), path)
