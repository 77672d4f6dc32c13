"""The request target and Host on a bare socket (spec: HTTP/1.1 framing; RFC 9112 3.2)."""

import json

import pytest
from conformance.api import assert_problem

from conformance import rawhttp


def _answer(address: tuple[str, int], data: bytes) -> rawhttp.RawResponse:
    """One response on a fresh connection."""
    return rawhttp.exchange(address, data)


def _assert_dated(response: rawhttp.RawResponse) -> None:
    problem = rawhttp.date_problem(response)
    assert problem is None, problem


def _assert_bad_request(response: rawhttp.RawResponse) -> None:
    """400 from the server (its own body) or from the application (the bad-request problem)."""
    assert response.status == 400, response
    if (response.header("content-type") or "").startswith("application/problem+json"):
        assert_problem(rawhttp.as_httpx(response), "bad-request")
    _assert_dated(response)


def test_http_1_1_without_host_is_400(address: tuple[str, int]) -> None:
    _assert_bad_request(
        _answer(address, rawhttp.request_bytes("GET", "/healthz", None, {"Connection": "close"}))
    )


def test_http_1_1_with_two_host_fields_is_400(address: tuple[str, int], host: str) -> None:
    fields = [("Host", "example.com"), ("Connection", "close")]
    _assert_bad_request(_answer(address, rawhttp.request_bytes("GET", "/healthz", host, fields)))


@pytest.mark.parametrize(
    "value",
    ["bad host", "a/b", "user@example.com", "example.com:port", "example.com:80:80", "[::1", "exa\tmple.com"],
)
def test_host_that_is_not_host_and_port_is_400(address: tuple[str, int], value: str) -> None:
    # RFC 9112 3.2: Host is uri-host [ ":" port ]; an HTTP/1.1 request without a valid one is 400.
    data = rawhttp.request_bytes("GET", "/healthz", None, [("Host", value), ("Connection", "close")])
    _assert_bad_request(_answer(address, data))


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_valid_host_naming_this_server_is_served(address: tuple[str, int], name: str) -> None:
    # The Host check refuses what is not host[:port], not the names a client may use for this server.
    for value in (name, f"{name}:{address[1]}"):
        response = _answer(address, rawhttp.request_bytes("GET", "/healthz", value, {"Connection": "close"}))
        assert response.status == 200, (value, response)
        assert json.loads(response.body) == {"status": "ok"}
        _assert_dated(response)


def test_absolute_form_target_is_served_as_its_path(address: tuple[str, int], host: str) -> None:
    # RFC 9112 3.2.2: a server must accept the absolute form; the authority in it replaces Host.
    data = rawhttp.request_bytes("GET", f"http://{host}/healthz", host, {"Connection": "close"})
    response = _answer(address, data)
    assert response.status == 200, response
    assert json.loads(response.body) == {"status": "ok"}
    _assert_dated(response)


@pytest.mark.parametrize("target", ["//healthz", "/users//me", "//projects", "/projects//1"])
def test_doubled_slash_is_not_found_not_merged(address: tuple[str, int], host: str, target: str) -> None:
    # spec/README.md, Routing: a path with an empty segment is an unknown path (404), never merged
    # into its neighbour nor redirected to it. On a bare socket: a client library would read "//x"
    # as a host.
    data = rawhttp.request_bytes("GET", target, host, {"Connection": "close"})
    response = _answer(address, data)
    assert response.status == 404, (target, response)
    assert "location" not in {name.lower() for name, _ in response.headers}
    assert_problem(rawhttp.as_httpx(response), "not-found")
    _assert_dated(response)
