"""Connection management on a bare socket: keep-alive, Connection: close, HTTP/1.0, half-close."""

import json
import socket

import httpx
from conformance.api import User, list_all_projects

from conformance import rawhttp


def test_several_requests_on_one_keep_alive_connection(address: tuple[str, int], host: str) -> None:
    with rawhttp.connect(address) as sock:
        reader = rawhttp.Reader(sock)
        for path in ("/healthz", "/readyz", "/nope", "/healthz"):
            rawhttp.send_all(sock, rawhttp.request_bytes("GET", path, host))
            response = reader.read_response()
            assert response.version == "HTTP/1.1"
            assert response.status == (404 if path == "/nope" else 200)
            assert (response.header("connection") or "").lower() != "close"


def test_pipelined_requests_are_answered_in_order(address: tuple[str, int], host: str) -> None:
    requests = b"".join(rawhttp.request_bytes("GET", path, host) for path in ("/healthz", "/nope", "/readyz"))
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, requests)
        reader = rawhttp.Reader(sock)
        assert [reader.read_response().status for _ in range(3)] == [200, 404, 200]


def test_connection_close_is_honoured(address: tuple[str, int], host: str) -> None:
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, rawhttp.request_bytes("GET", "/healthz", host, {"Connection": "close"}))
        reader = rawhttp.Reader(sock)
        response = reader.read_response()
        assert response.status == 200
        assert json.loads(response.body) == {"status": "ok"}
        # The server closes its side once the response is sent.
        assert reader.closed_by_peer()


def test_http_1_0_request_is_answered(address: tuple[str, int], host: str) -> None:
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, rawhttp.request_bytes("GET", "/healthz", host, version="HTTP/1.0"))
        reader = rawhttp.Reader(sock)
        response = reader.read_response()
        assert response.status == 200
        assert json.loads(response.body) == {"status": "ok"}
        # HTTP/1.0 without keep-alive: the connection ends after the response.
        assert reader.closed_by_peer()


def test_half_close_after_a_complete_request_gets_the_whole_response(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    # A client may shut its sending half once the request is sent (RFC 9112 9.6): the request is
    # complete, so it is answered in full, and then the server closes too.
    body = b'{"name": "half-closed"}'
    headers = {**user.auth, "Content-Type": "application/json"}
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, rawhttp.request_bytes("POST", "/projects", host, headers, body))
        sock.shutdown(socket.SHUT_WR)
        reader = rawhttp.Reader(sock)
        response = reader.read_final_response()
        assert response.status == 201, response
        created = json.loads(response.body)
        assert created["name"] == "half-closed"
        assert reader.rest_until_close() == b""
    assert [project["id"] for project in list_all_projects(client, user)] == [created["id"]]
