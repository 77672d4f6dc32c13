"""A minimal HTTP/1.x client on a bare socket, for what httpx hides: framing, keep-alive, raw bytes."""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

# Every socket operation is bounded so that a hung server fails a test instead of hanging the suite.
TIMEOUT = 10.0

# How long a server may take to close a connection it must close: far more than loopback needs, far less
# than any server's keep-alive or read timeout, so a connection left open is told apart from a slow close.
CLOSE_TIMEOUT = 3.0

# RFC 9110 5.6.7: the one date format a sender generates (IMF-fixdate), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT$"
)

# Header fields to send, in order; a list may name a field twice (a duplicate Host or Content-Length).
Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass
class RawResponse:
    """One parsed response: status line, headers in order, body bytes."""

    version: str
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive name), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def connect(address: tuple[str, int], timeout: float = TIMEOUT) -> socket.socket:
    """An open TCP connection with a timeout on every operation."""
    sock = socket.create_connection(address, timeout=timeout)
    sock.settimeout(timeout)
    return sock


class Reader:
    """Buffered reads from a socket, so several responses can be parsed off one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def read_until(self, marker: bytes) -> bytes:
        """Bytes up to and including `marker`; raises EOFError if the peer closes first."""
        while marker not in self.buffer:
            if not self._fill():
                raise EOFError(f"connection closed before {marker!r}; got {self.buffer[:200]!r}")
        index = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def read_exactly(self, size: int) -> bytes:
        """Exactly `size` bytes; raises EOFError if the peer closes first."""
        while len(self.buffer) < size:
            if not self._fill():
                raise EOFError(f"connection closed after {len(self.buffer)} of {size} bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_to_eof(self) -> bytes:
        """Everything until the peer closes."""
        while self._fill():
            pass
        data, self.buffer = self.buffer, b""
        return data

    def closed_by_peer(self) -> bool:
        """Whether the peer closes the connection with nothing more to send (waits up to the timeout)."""
        return not self.buffer and not self._fill()

    def rest_until_close(self, timeout: float = CLOSE_TIMEOUT) -> bytes:
        """Whatever the peer still sends before it closes; TimeoutError if it keeps the connection open.

        After a response that must end the connection, the result must be empty: any byte would be the
        answer to a request the server should never have read.
        """
        self.sock.settimeout(timeout)
        try:
            return self.read_to_eof()
        except TimeoutError:
            raise TimeoutError(
                f"the connection is still open {timeout} s after the response; got {self.buffer[:200]!r}"
            ) from None
        finally:
            self.sock.settimeout(TIMEOUT)

    def read_final_response(self, head_request: bool = False) -> RawResponse:
        """The next final (non-1xx) response, skipping interim ones such as 100 Continue."""
        while True:
            response = self.read_response(head_request=head_request)
            if response.status >= 200:
                return response

    def read_head(self) -> RawResponse:
        """Parse one response's status line and header fields, leaving its body unread (a stream's)."""
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        return RawResponse(version=version, status=int(status), headers=headers)

    def read_response(self, head_request: bool = False) -> RawResponse:
        """Parse one response, framing its body by Content-Length, chunked coding or connection close."""
        response = self.read_head()
        if head_request or response.status in (204, 304) or 100 <= response.status < 200:
            return response
        if (response.header("transfer-encoding") or "").lower() == "chunked":
            response.body = self._read_chunked()
        elif response.header("content-length") is not None:
            response.body = self.read_exactly(int(response.header("content-length") or "0"))
        else:
            response.body = self.read_to_eof()
        return response

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self.read_until(b"\r\n").split(b";")[0].strip(), 16)
            if size == 0:
                self.read_until(b"\r\n")
                return body
            body += self.read_exactly(size)
            self.read_until(b"\r\n")


def request_bytes(
    method: str,
    target: str,
    host: str | None,
    headers: Headers | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    """Serialise a request; Content-Length is added for a body unless a framing header is given.

    `host` None sends no Host field (to test its absence); `headers` may be a list to repeat a field.
    """
    fields = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    lines = [f"{method} {target} {version}"] + ([f"Host: {host}"] if host is not None else [])
    given = {name.lower() for name, _ in fields}
    lines += [f"{name}: {value}" for name, value in fields]
    if body and "content-length" not in given and "transfer-encoding" not in given:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def send_all(sock: socket.socket, data: bytes) -> bool:
    """Send everything; False if the server stopped listening (closed or reset) before it was all sent."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def exchange(address: tuple[str, int], data: bytes, head_request: bool = False) -> RawResponse:
    """Send one request on a fresh connection and read one response."""
    with connect(address) as sock:
        send_all(sock, data)
        return Reader(sock).read_response(head_request=head_request)


def chunked(body: bytes, size: int = 65536) -> bytes:
    """`body` in the chunked transfer coding."""
    out = b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def send_streaming(address: tuple[str, int], data: bytes, piece: int = 65536) -> RawResponse:
    """Send a request piece by piece, stopping once the server answers, and read that answer.

    A server may refuse a large body (413, 401) before reading it and close the connection; a client
    that insists on sending everything first then sees a reset instead of the response.
    """
    with connect(address) as sock:
        for start in range(0, len(data), piece):
            readable = select.select([sock], [], [], 0)[0]
            if readable or not send_all(sock, data[start : start + piece]):
                break
        return Reader(sock).read_response()


def date_problem(response: RawResponse, now: datetime | None = None) -> str | None:
    """Why the response's Date header breaks RFC 9110 6.6.1 (None when it is right).

    Exactly one Date, an IMF-fixdate, within a minute of this machine's clock (the server runs beside
    the suite, so the clocks are the same).
    """
    values = [value for name, value in response.headers if name.lower() == "date"]
    if len(values) != 1:
        return f"expected one Date header, got {values!r} in {response.headers!r}"
    if not IMF_FIXDATE.match(values[0]):
        return f"Date is not an IMF-fixdate: {values[0]!r}"
    sent = datetime.strptime(values[0], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    drift = abs((sent - (now or datetime.now(UTC))).total_seconds())
    return None if drift <= 60 else f"Date {values[0]!r} is {drift:.0f} s away from now"


def as_httpx(response: RawResponse) -> httpx.Response:
    """The raw response as an httpx.Response, for the assertion helpers."""
    return httpx.Response(response.status, headers=response.headers, content=response.body)


def large_request(
    base_url: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    """Send a (large) request the way a well-behaved client does: stop sending when the answer comes."""
    parts = httpx.URL(base_url)
    address = (parts.host, parts.port or 80)
    head = {**headers, "Content-Length": str(len(body)), "Connection": "close"}
    return as_httpx(
        send_streaming(address, request_bytes(method, path, f"{parts.host}:{address[1]}", head, body))
    )
