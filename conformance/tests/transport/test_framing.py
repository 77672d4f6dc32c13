"""Request framing on a bare socket (spec: HTTP/1.1 framing): request lines, heads, bodies, smuggling."""

import json
import socket
import time

import httpx
import pytest
from conformance.api import User, assert_problem, list_all_projects

from conformance import rawhttp

BODY = b'{"name": "p"}'  # 13 bytes, "d" in hex
JSON = {"Content-Type": "application/json"}


def _dated(response: rawhttp.RawResponse) -> rawhttp.RawResponse:
    """The response, after checking its Date header (RFC 9110 6.6.1: every response has one)."""
    problem = rawhttp.date_problem(response)
    assert problem is None, problem
    return response


def _smuggled(host: str, user: User) -> bytes:
    """A complete create request, sent where only body bytes or nothing may follow: it must never run."""
    body = b'{"name": "smuggled"}'
    return rawhttp.request_bytes("POST", "/projects", host, {**user.auth, **JSON}, body)


def _answer_then_close(
    address: tuple[str, int], data: bytes, half_close: bool = False
) -> tuple[rawhttp.RawResponse, bytes | None]:
    """Send `data`, read one final response, then whatever the server sends until it closes.

    The second value is None when the connection stays open; any bytes in it would be the answer to a
    second request hidden in `data`.
    """
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reader = rawhttp.Reader(sock)
        response = reader.read_final_response()
        try:
            return response, reader.rest_until_close()
        except TimeoutError:
            return response, None


def _assert_closed(rest: bytes | None) -> None:
    """The server closed the connection after its answer and answered nothing more."""
    assert rest is not None, f"the connection is still open {rawhttp.CLOSE_TIMEOUT} s after the answer"
    assert rest == b"", f"a second response followed the answer: {rest[:300]!r}"


def _assert_closed_and_nothing_created(
    response: rawhttp.RawResponse, rest: bytes | None, client: httpx.Client, user: User
) -> None:
    """After a refusal: the connection closed with nothing more sent, the answer dated, nothing created."""
    _assert_closed(rest)
    _dated(response)
    assert list_all_projects(client, user) == []


def test_malformed_request_line_is_400(address: tuple[str, int]) -> None:
    for line in (b"this is not http\r\n\r\n", b"GET\r\n\r\n", b"GET /healthz HTTP/1.1 extra\r\n\r\n"):
        with rawhttp.connect(address) as sock:
            rawhttp.send_all(sock, line)
            response = rawhttp.Reader(sock).read_response()
        assert response.status == 400, (line, response)
        _dated(response)


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
    _dated(response)


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
        _dated(response)
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
    _dated(response)
    created = json.loads(response.body)
    assert (created["name"], created["description"]) == ("chunked", "sent in pieces")
    assert [project["id"] for project in list_all_projects(client, user)] == [created["id"]]


# Chunk sizes that are not 1*HEXDIG. The last three are read as 13 by Python's int(size, 16), the
# classic smuggling flaw of a hand-written chunk parser; `BODY` is exactly 13 bytes, so they would "work".
@pytest.mark.parametrize(
    "size", [b"zz", b"", b"+d", b"0x0d", b"0_d"], ids=["zz", "empty", "plus", "0x", "underscore"]
)
def test_chunked_body_with_invalid_chunk_size_is_400_and_closes(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, size: bytes
) -> None:
    headers = {**user.auth, **JSON, "Transfer-Encoding": "chunked"}
    body = size + b"\r\n" + BODY + b"\r\n0\r\n\r\n"
    data = rawhttp.request_bytes("POST", "/projects", host, headers) + body + _smuggled(host, user)
    response, rest = _answer_then_close(address, data)
    assert_problem(rawhttp.as_httpx(response), "bad-request")
    _assert_closed_and_nothing_created(response, rest, client, user)


def test_chunked_body_without_chunk_terminator_is_400_and_closes(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    # 13 bytes of data, then "XX" where the CRLF that ends the chunk belongs.
    headers = {**user.auth, **JSON, "Transfer-Encoding": "chunked"}
    body = b"d\r\n" + BODY + b"XX\r\n0\r\n\r\n"
    data = rawhttp.request_bytes("POST", "/projects", host, headers) + body + _smuggled(host, user)
    response, rest = _answer_then_close(address, data)
    assert_problem(rawhttp.as_httpx(response), "bad-request")
    _assert_closed_and_nothing_created(response, rest, client, user)


@pytest.mark.parametrize(
    "body",
    [b"20\r\n" + BODY, b"d\r\n" + BODY + b"\r\n0\r\n"],
    ids=["chunk-data-cut", "last-chunk-cut"],
)
def test_chunked_body_with_truncated_last_chunk_is_400_and_closes(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, body: bytes
) -> None:
    # The client stops sending (half-close) inside a 32-byte chunk, or before the CRLF that ends the
    # last chunk: the message never ended (RFC 9112 8), so nothing may be created.
    # As with a body shorter than its Content-Length (spec: Media types), the server may also close
    # without answering (a gateway that buffers bodies does): if it answers, it is 400 bad-request.
    headers = {**user.auth, **JSON, "Transfer-Encoding": "chunked"}
    data = rawhttp.request_bytes("POST", "/projects", host, headers) + body
    try:
        response, rest = _answer_then_close(address, data, half_close=True)
    except EOFError:
        response, rest = None, b""
    if response is not None:
        assert_problem(rawhttp.as_httpx(response), "bad-request")
        _dated(response)
    _assert_closed(rest)
    assert list_all_projects(client, user) == []


def test_content_length_with_transfer_encoding_is_400_and_closes(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    # RFC 9112 6.1: a server may not trust either framing; a proxy that used the other one would see
    # the smuggled create as part of this request's body.
    headers = {**user.auth, **JSON, "Content-Length": str(len(BODY)), "Transfer-Encoding": "chunked"}
    data = rawhttp.request_bytes("POST", "/projects", host, headers) + rawhttp.chunked(BODY)
    response, rest = _answer_then_close(address, data + _smuggled(host, user))
    assert response.status == 400, response
    _assert_closed_and_nothing_created(response, rest, client, user)


def test_transfer_encoding_on_http_1_0_is_400_and_closes(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    # RFC 9112 6.1: an HTTP/1.0 recipient cannot know chunked framing, so the request cannot be framed.
    headers = {**user.auth, **JSON, "Transfer-Encoding": "chunked", "Connection": "keep-alive"}
    data = rawhttp.request_bytes("POST", "/projects", host, headers, version="HTTP/1.0") + rawhttp.chunked(
        BODY
    )
    response, rest = _answer_then_close(address, data + _smuggled(host, user))
    assert response.status == 400, response
    _assert_closed_and_nothing_created(response, rest, client, user)


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate, chunked"])
def test_transfer_coding_other_than_chunked_alone_is_501_and_closes(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, coding: str
) -> None:
    # The body is framed (chunked comes last) but cannot be decoded: RFC 9112 6.1 says 501.
    headers = {**user.auth, **JSON, "Transfer-Encoding": coding}
    data = rawhttp.request_bytes("POST", "/projects", host, headers) + rawhttp.chunked(BODY)
    response, rest = _answer_then_close(address, data + _smuggled(host, user))
    assert response.status == 501, response
    # The server's own 501 may have a body of its own; an application 501 is the spec's problem.
    if (response.header("content-type") or "").startswith("application/problem+json"):
        assert_problem(rawhttp.as_httpx(response), "not-implemented")
    _assert_closed_and_nothing_created(response, rest, client, user)


# Differing values only: RFC 9110 8.6 lets a recipient either refuse identical ones ("13, 13") or read
# them as one, so the spec fixes nothing for them.
@pytest.mark.parametrize("lengths", [["13", "14"], ["13, 14"]], ids=["two-differing", "list-differing"])
def test_differing_content_lengths_are_400(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, lengths: list[str]
) -> None:
    fields = [*user.auth.items(), *JSON.items(), *(("Content-Length", value) for value in lengths)]
    data = rawhttp.request_bytes("POST", "/projects", host, fields) + BODY + b"\r\n"
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, data)
        response = rawhttp.Reader(sock).read_final_response()
    assert response.status == 400, response
    _dated(response)
    assert list_all_projects(client, user) == []


@pytest.mark.parametrize("length", ["abc", "+13", "-13", "0x0d", "13.0", "1_3", "13a", " "])
def test_content_length_that_is_not_a_decimal_number_is_400(
    address: tuple[str, int], host: str, client: httpx.Client, user: User, length: str
) -> None:
    # "+13", "0x0d" and "1_3" are numbers to a lax parser (Python's int() reads "+13" and "1_3").
    fields = [*user.auth.items(), *JSON.items(), ("Content-Length", length)]
    data = rawhttp.request_bytes("POST", "/projects", host, fields) + BODY
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, data)
        response = rawhttp.Reader(sock).read_final_response()
    assert response.status == 400, response
    _dated(response)
    assert list_all_projects(client, user) == []


def test_413_before_the_body_closes_the_connection(
    address: tuple[str, int], host: str, client: httpx.Client, user: User
) -> None:
    # The declared body is refused unread, so the bytes that follow cannot be framed: a server that
    # kept the connection would read the smuggled create as the next request.
    headers = {**user.auth, **JSON, "Content-Length": str(2 * 1024 * 1024)}
    smuggled = _smuggled(host, user)
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, rawhttp.request_bytes("POST", "/projects", host, headers) + smuggled)
        reader = rawhttp.Reader(sock)
        response = reader.read_final_response()
        assert_problem(rawhttp.as_httpx(response), "payload-too-large")
        # More bytes after the answer, as a client that did not wait would send them.
        rawhttp.send_all(sock, smuggled)
        try:
            rest = reader.rest_until_close()
        except TimeoutError:
            # Still open: allowed only for a server that reads the declared body and discards it (nginx
            # does, to keep the connection), which frames the bytes as body; nothing may be answered.
            rest = reader.buffer
    assert rest == b"", f"a second response followed the answer: {rest[:300]!r}"
    _dated(response)
    assert list_all_projects(client, user) == []
