"""Request framing on a bare socket: bad request lines, huge headers, short and chunked bodies."""

import json
import socket
import time

import httpx
from conformance.api import User, list_all_projects

from conformance import rawhttp


def test_malformed_request_line_is_400(address: tuple[str, int]) -> None:
    for line in (b"this is not http\r\n\r\n", b"GET\r\n\r\n", b"GET /healthz HTTP/1.1 extra\r\n\r\n"):
        with rawhttp.connect(address) as sock:
            rawhttp.send_all(sock, line)
            assert rawhttp.Reader(sock).read_response().status == 400, line


def test_oversized_header_is_refused(address: tuple[str, int], host: str) -> None:
    # 64 KiB in one header field. gunicorn answers 431 (limit_request_field_size); uvicorn's h11 parser
    # answers 400 once the head outgrows h11_max_incomplete_event_size. Both are a refusal of the
    # request head; no server may serve it. Sent in pieces, as a real client's large head arrives.
    data = rawhttp.request_bytes("GET", "/healthz", host, {"X-Padding": "a" * 65536, "Connection": "close"})
    with rawhttp.connect(address) as sock:
        for start in range(0, len(data), 4096):
            if not rawhttp.send_all(sock, data[start : start + 4096]):
                break
            time.sleep(0.001)
        response = rawhttp.Reader(sock).read_response()
    assert response.status in (400, 431), response


def test_body_shorter_than_content_length_creates_nothing(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    # A complete JSON object, but 40 bytes were promised: the request never ended, so it is no request.
    body = b'{"name": "partial"}'
    headers = {**user.auth, "Content-Type": "application/json", "Content-Length": "40"}
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, rawhttp.request_bytes("POST", "/projects", host, headers) + body)
        sock.shutdown(socket.SHUT_WR)
        reader = rawhttp.Reader(sock)
        try:
            response = reader.read_response()
        except EOFError:
            response = None  # closing without an answer is allowed
    if response is not None:
        assert response.status == 400, response
    assert list_all_projects(client, user) == []


def test_chunked_request_body_is_accepted(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    body = json.dumps({"name": "chunked", "description": "sent in pieces"}).encode()
    headers = {**user.auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(
            sock, rawhttp.request_bytes("POST", "/projects", host, headers) + rawhttp.chunked(body, 7)
        )
        response = rawhttp.Reader(sock).read_response()
    assert response.status == 201, response
    created = json.loads(response.body)
    assert (created["name"], created["description"]) == ("chunked", "sent in pieces")
    assert [project["id"] for project in list_all_projects(client, user)] == [created["id"]]
