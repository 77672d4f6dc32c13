"""A Date header on every response, the application's and the HTTP server's own (RFC 9110 6.6.1)."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conformance.api import User, create_project

from conformance import rawhttp

JSON = {"Content-Type": "application/json"}

# name -> (method, target, headers, body, expected status); {id} is a fresh project of the user's.
APPLICATION: dict[str, tuple[str, str, dict[str, str], bytes, int]] = {
    "200": ("GET", "/healthz", {}, b"", 200),
    "200-head": ("HEAD", "/healthz", {}, b"", 200),
    "200-page": ("GET", "/", {}, b"", 200),
    "201": ("POST", "/projects", {"auth": "", **JSON}, b'{"name": "dated"}', 201),
    "204-options": ("OPTIONS", "/projects", {}, b"", 204),
    "204-delete": ("DELETE", "/projects/{id}", {"auth": ""}, b"", 204),
    "304": ("GET", "/projects/{id}", {"auth": "", "If-None-Match": '"1"'}, b"", 304),
    "400": ("POST", "/projects", {"auth": "", **JSON}, b'{"name": ', 400),
    "401": ("GET", "/projects", {}, b"", 401),
    "404": ("GET", "/nope", {}, b"", 404),
    "405": ("DELETE", "/healthz", {}, b"", 405),
    "412": ("PATCH", "/projects/{id}", {"auth": "", **JSON, "If-Match": '"9"'}, b"{}", 412),
    "413": ("POST", "/projects", {"auth": "", **JSON, "Content-Length": str(2 * 1024 * 1024)}, b"", 413),
    "415": ("POST", "/projects", {"auth": "", "Content-Type": "text/plain"}, b"{}", 415),
    "422": ("POST", "/projects", {"auth": "", **JSON}, b"{}", 422),
}


def _assert_dated(response: rawhttp.RawResponse) -> None:
    problem = rawhttp.date_problem(response)
    assert problem is None, f"{response.status}: {problem}"


@pytest.mark.parametrize("case", APPLICATION)
def test_application_answers_carry_a_date(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, case: str
) -> None:
    method, target, headers, body, status = APPLICATION[case]
    if "{id}" in target:
        target = target.replace("{id}", str(create_project(client, user)["id"]))
    fields: dict[str, Any] = {name: value for name, value in headers.items() if name != "auth"}
    if "auth" in headers:
        fields.update(user.auth)
    data = rawhttp.request_bytes(method, target, host, {**fields, "Connection": "close"}, body)
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, data)
        response = rawhttp.Reader(sock).read_final_response(head_request=method == "HEAD")
    assert response.status == status, response
    _assert_dated(response)


def test_event_stream_carries_a_date(address: tuple[str, int], host: str, user: User) -> None:
    data = rawhttp.request_bytes("GET", "/events", host, {**user.auth, "Connection": "close"})
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, data)
        response = rawhttp.Reader(sock).read_head()
    assert response.status == 200, response
    _assert_dated(response)


def _in_pieces(sock: Any, data: bytes) -> None:
    """Send a large head the way it arrives from a real client, stopping if the server gives up on it."""
    for start in range(0, len(data), 4096):
        if not rawhttp.send_all(sock, data[start : start + 4096]):
            return
        time.sleep(0.001)


# The server's own refusals of a head it cannot parse. Only the malformed request line and the oversized
# field have a status in the spec (400; 431 or 400); a 64 KiB target is refused with some 4xx (414 from
# gunicorn) or, by a server that takes it, answered 404 by the application: either way, with a Date.
SERVER: dict[str, tuple[Callable[[str], bytes], tuple[int, ...]]] = {
    "400-request-line": (lambda host: b"this is not http\r\n\r\n", (400,)),
    "long-target": (
        lambda host: rawhttp.request_bytes("GET", "/" + "a" * 65536, host, {"Connection": "close"}),
        (400, 404, 414, 431),
    ),
    "431-header": (
        lambda host: rawhttp.request_bytes("GET", "/healthz", host, {"X-Padding": "a" * 65536}),
        (400, 431),
    ),
}


@pytest.mark.parametrize("case", SERVER)
def test_server_answers_carry_a_date(address: tuple[str, int], host: str, case: str) -> None:
    build, statuses = SERVER[case]
    with rawhttp.connect(address) as sock:
        _in_pieces(sock, build(host))
        response = rawhttp.Reader(sock).read_response()
    assert response.status in statuses, response
    _assert_dated(response)
