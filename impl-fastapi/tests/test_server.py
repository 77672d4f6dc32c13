"""uvicorn with the port's protocol (worker.py), on a real socket: the HTTP/1.1 framing table of the spec."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from tasks_api.worker import Worker


@pytest.fixture
def address(client) -> Iterator[tuple[str, int]]:
    """A uvicorn server on a free port running the app with the worker's settings (h11, our protocol)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    kwargs = {key: value for key, value in Worker.CONFIG_KWARGS.items() if key != "lifespan"}
    config = uvicorn.Config(client.app, lifespan="off", timeout_keep_alive=2, **kwargs)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield listener.getsockname()
    server.should_exit = True
    thread.join(5)


def exchange(address, data: bytes, half_close: bool = False, wait: float = 3.0) -> tuple[bytes, bool]:
    """Send bytes, optionally shut the sending half, and read until the server closes (or `wait`)."""
    with socket.create_connection(address, timeout=wait) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received, closed = b"", False
        try:
            while chunk := sock.recv(65536):
                received += chunk
            closed = True
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
    return received, closed


def statuses(data: bytes) -> list[int]:
    """The status of every response in `data` (each starts a line with HTTP/1.1)."""
    return [int(line.split(b" ")[1]) for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")]


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def test_content_length_with_transfer_encoding_is_400_and_closes(address):
    data, closed = exchange(
        address,
        b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + HEALTHZ,
    )
    assert statuses(data) == [400] and closed
    assert b"\r\ndate: " in data.lower()


def test_transfer_encoding_on_http_1_0_is_400_and_closes(address):
    data, closed = exchange(
        address, b"POST /users HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + HEALTHZ
    )
    assert statuses(data) == [400] and closed


def test_another_transfer_coding_is_501_and_closes(address):
    data, closed = exchange(
        address,
        b"POST /users HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + HEALTHZ,
    )
    assert statuses(data) == [501] and closed
    assert b"not-implemented" in data and b"\r\ndate: " in data.lower()


@pytest.mark.parametrize(
    "head",
    [
        b"GET /healthz HTTP/1.1\r\n\r\n",  # no Host
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
        b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\n{}",
        b"this is not http\r\n\r\n",
    ],
)
def test_the_servers_own_400s_carry_a_date(address, head):
    data, closed = exchange(address, head)
    assert statuses(data) == [400] and closed
    assert b"\r\ndate: " in data.lower() and b"application/problem+json" in data


def test_an_absolute_form_target_is_served_as_its_path(address):
    data, _ = exchange(address, b"GET http://t/healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert statuses(data) == [200]


def test_a_half_close_after_a_complete_request_gets_the_full_response(address):
    body = b'{"email":"x"}'
    request = (
        b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    data, closed = exchange(address, request, half_close=True)
    assert statuses(data) == [422] and closed
    assert data.endswith(b"}")  # the whole body
    data, closed = exchange(address, HEALTHZ, half_close=True)
    assert statuses(data) == [200] and closed


def test_a_body_cut_short_by_a_half_close_is_400(address):
    request = (
        b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n5\r\nab"
    )
    data, closed = exchange(address, request, half_close=True)
    assert statuses(data) == [400] and closed


def test_the_connection_closes_after_a_413_and_later_bytes_are_no_request(address):
    request = (
        b"POST /users HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2000000\r\n\r\n" + b"x" * 100 + HEALTHZ
    )
    started = time.monotonic()
    data, closed = exchange(address, request)
    assert statuses(data) == [413] and closed
    assert time.monotonic() - started < 2.9


@pytest.mark.parametrize(
    ("target", "headers", "status"),
    [
        (b"/projects", b"Content-Type: application/json\r\n", 401),
        (b"/projects", b"Content-Type: text/plain\r\nAuthorization: Bearer " + b"x" * 43 + b"\r\n", 401),
        (b"/users", b"Content-Type: application/json\r\nContent-Length: 2000000\r\n", 413),
        (b"/users", b"Content-Type: text/plain\r\n", 415),
    ],
)
def test_expect_100_continue_gets_the_final_status_at_once(address, target, headers, status):
    if b"Content-Length" not in headers:
        headers += b"Content-Length: 100\r\n"
    request = b"POST " + target + b" HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n" + headers + b"\r\n"
    data, _closed = exchange(address, request, wait=1.5)
    assert statuses(data) == [status], data[:300]
