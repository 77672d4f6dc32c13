"""Routing: 405 with Allow, HEAD mirrors GET, OPTIONS without auth, strict path ids (spec: Routing)."""

from typing import Any

import httpx
import pytest
from conformance.api import MAX_ID, User, affinity, assert_problem
from conformance.routes import ALLOW, assert_allow, concrete, methods, unserved

from conformance import rawhttp

# Headers a server sets per response, which HEAD and GET may legitimately differ on.
PER_RESPONSE = {"date", "x-request-id", "server", "connection", "keep-alive", "transfer-encoding"}

UNSERVED = [(template, method) for template in ALLOW for method in unserved(template)]


@pytest.mark.parametrize(("template", "method"), UNSERVED)
def test_unserved_method_is_405_with_allow(client: httpx.Client, template: str, method: str) -> None:
    # No credentials: routing answers before authentication.
    response = client.request(method, concrete(template, MAX_ID))
    if method == "HEAD":
        # HEAD mirrors the GET a client would have made: same status and headers, no body to parse.
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
    else:
        assert_problem(response, "method-not-allowed")
    # Exactly the path's methods, each once; the order is not significant (spec: Routing).
    assert_allow(response.headers.get("allow"), template)


def test_unknown_method_is_405(client: httpx.Client) -> None:
    response = client.request("TRACE", "/projects")
    assert_problem(response, "method-not-allowed")
    assert_allow(response.headers.get("allow"), "/projects")


@pytest.mark.parametrize("template", list(ALLOW))
def test_options_is_204_with_allow_without_auth(client: httpx.Client, template: str) -> None:
    response = client.options(concrete(template, MAX_ID))
    assert response.status_code == 204, response.text
    assert_allow(response.headers.get("allow"), template)
    assert response.content == b""
    # RFC 5789 3.1: a path that serves PATCH names the patch formats it accepts; others say nothing.
    expected = [ACCEPT_PATCH] if "PATCH" in methods(template) else []
    assert response.headers.get_list("accept-patch") == expected


ACCEPT_PATCH = "application/json, application/merge-patch+json"


def _comparable(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in PER_RESPONSE}


def _assert_head_mirrors_get(client: httpx.Client, path: str, headers: dict[str, str]) -> None:
    # HEAD mirrors the GET of the same origin server: behind the gateway (deploy/nginx), the affinity
    # header sends both to one port; a port alone ignores it.
    headers = {**headers, **affinity()}
    get = client.get(path, headers=headers)
    head = client.head(path, headers=headers)
    assert head.status_code == get.status_code
    assert _comparable(head) == _comparable(get)
    assert head.content == b""


def test_head_mirrors_get_on_resources(
    client: httpx.Client, user: User, project: dict[str, Any], task: dict[str, Any]
) -> None:
    for path in [
        "/users/me",
        "/projects",
        f"/projects/{project['id']}",
        f"/projects/{project['id']}/tasks",
        f"/tasks/{task['id']}",
        "/healthz",
        "/readyz",
        "/openapi.yaml",
    ]:
        _assert_head_mirrors_get(client, path, user.auth)


def test_head_mirrors_get_on_errors(client: httpx.Client, user: User) -> None:
    _assert_head_mirrors_get(client, "/projects", {})
    _assert_head_mirrors_get(client, f"/projects/{MAX_ID}", user.auth)
    _assert_head_mirrors_get(client, "/projects?limit=0", user.auth)


def test_head_mirrors_get_on_paged_list(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    for title in ("a", "b", "c"):
        client.post(f"/projects/{project['id']}/tasks", json={"title": title}, headers=user.auth)
    path = f"/projects/{project['id']}/tasks?limit=2"
    _assert_head_mirrors_get(client, path, user.auth)
    assert "link" in client.head(path, headers=user.auth).headers


def test_head_sends_no_body_on_the_wire(address: tuple[str, int]) -> None:
    # httpx discards a HEAD body, so read the raw bytes: after the header block the server sends nothing.
    host = f"{address[0]}:{address[1]}"
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, rawhttp.request_bytes("HEAD", "/healthz", host, {"Connection": "close"}))
        data = rawhttp.Reader(sock).read_to_eof()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    assert rest == b""


@pytest.mark.parametrize(
    "segment",
    ["abc", "0", "007", "-1", "+1", "1.0", "1e3", str(MAX_ID + 1), "99999999999999999999999", "%201", "0x1"],
)
@pytest.mark.parametrize("template", ["/projects/{id}", "/projects/{id}/tasks", "/tasks/{id}"])
def test_malformed_path_id_matches_no_route(
    client: httpx.Client, user: User, template: str, segment: str
) -> None:
    assert_problem(client.get(template.replace("{id}", segment), headers=user.auth), "not-found")


@pytest.mark.parametrize("segment", ["abc", "0", "007", str(MAX_ID + 1), "%D9%A1"])
def test_malformed_path_id_is_404_before_authentication(client: httpx.Client, segment: str) -> None:
    # "%D9%A1" is ARABIC-INDIC DIGIT ONE: a Unicode digit, not a decimal integer of the URL grammar.
    assert_problem(client.get(f"/tasks/{segment}"), "not-found")
    assert_problem(client.options(f"/tasks/{segment}"), "not-found")


def test_largest_id_is_a_route(client: httpx.Client) -> None:
    # 2^53-1 is a valid id: it reaches authentication (401) instead of failing routing (404).
    assert_problem(client.get(f"/tasks/{MAX_ID}"), "authentication-required")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/projects/0", f"/tasks/{MAX_ID + 1}", "/projects/abc/tasks", "/tasks/01"])
def test_malformed_path_id_is_404_for_every_method(
    client: httpx.Client, user: User, method: str, path: str
) -> None:
    # No route matches, so no method can be "not allowed" on it: 404, never 405.
    response = client.request(
        method, path, json={} if method in ("POST", "PUT", "PATCH") else None, headers=user.auth
    )
    assert_problem(response, "not-found")
