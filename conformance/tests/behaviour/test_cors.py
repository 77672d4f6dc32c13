"""CORS for the one allowed origin https://allowed.example and nothing for any other (spec: CORS)."""

from typing import Any

import httpx
import pytest
from conformance.api import User
from conformance.routes import ALLOW, assert_allow, concrete

ALLOWED = "https://allowed.example"
EXPOSE = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"


def _vary(response: httpx.Response) -> list[str]:
    values = response.headers.get_list("vary")
    return [token.strip().lower() for value in values for token in value.split(",")]


def _cors_headers(response: httpx.Response) -> list[str]:
    return [name for name in response.headers if name.lower().startswith("access-control-")]


def _assert_simple_cors(response: httpx.Response) -> None:
    assert response.headers.get("access-control-allow-origin") == ALLOWED
    assert response.headers.get("access-control-expose-headers") == EXPOSE
    assert "origin" in _vary(response)
    # No credentials mode: bearer tokens, not cookies.
    assert "access-control-allow-credentials" not in response.headers


def test_allowed_origin_on_success(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    response = client.get(f"/projects/{project['id']}", headers={**user.auth, "Origin": ALLOWED})
    assert response.status_code == 200
    _assert_simple_cors(response)
    assert sorted(_cors_headers(response)) == ["access-control-allow-origin", "access-control-expose-headers"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/projects"), ("GET", "/nope"), ("DELETE", "/healthz")])
def test_allowed_origin_on_errors(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, headers={"Origin": ALLOWED})
    assert response.status_code >= 400
    _assert_simple_cors(response)


def test_allowed_origin_on_create(client: httpx.Client, user: User) -> None:
    response = client.post("/projects", json={"name": "p"}, headers={**user.auth, "Origin": ALLOWED})
    assert response.status_code == 201
    _assert_simple_cors(response)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://allowed.example",
        "https://allowed.example.evil",
        "https://allowed.example:8443",
        "null",
    ],
)
def test_other_origin_gets_no_cors_headers(client: httpx.Client, user: User, origin: str) -> None:
    response = client.get("/projects", headers={**user.auth, "Origin": origin})
    assert response.status_code == 200
    assert _cors_headers(response) == []
    assert "origin" in _vary(response)


def test_vary_origin_without_origin(client: httpx.Client) -> None:
    # The allow-list is not empty, so every response varies on Origin, even one to a same-origin client.
    response = client.get("/healthz")
    assert "origin" in _vary(response)
    assert _cors_headers(response) == []


@pytest.mark.parametrize("template", list(ALLOW))
def test_preflight_from_allowed_origin(client: httpx.Client, template: str) -> None:
    headers = {
        "Origin": ALLOWED,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match",
    }
    # Preflights carry no credentials, and the id need not exist.
    response = client.options(concrete(template, 2**53 - 1), headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_allow(response.headers.get("allow"), template)
    _assert_simple_cors(response)
    # "Access-Control-Allow-Methods: <the Allow value>": the same methods, order not significant.
    assert_allow(response.headers.get("access-control-allow-methods"), template)
    assert response.headers.get("access-control-allow-headers") == ALLOW_HEADERS
    assert response.headers.get("access-control-max-age") == "600"


def test_preflight_from_other_origin_is_plain_options(client: httpx.Client) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    response = client.options("/projects", headers=headers)
    assert response.status_code == 204
    assert_allow(response.headers.get("allow"), "/projects")
    assert _cors_headers(response) == []
    assert "origin" in _vary(response)


def test_options_from_allowed_origin_without_request_method_is_not_a_preflight(client: httpx.Client) -> None:
    response = client.options("/projects", headers={"Origin": ALLOWED})
    assert response.status_code == 204
    _assert_simple_cors(response)
    for name in ("access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"):
        assert name not in response.headers
