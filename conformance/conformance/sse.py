"""A Server-Sent Events reader on a bare socket: exact bytes, a timestamp per block, a deadline per read."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Self

from conformance.rawhttp import TIMEOUT, RawResponse, connect, request_bytes

# The framing of spec/README.md ("Live events"), byte for byte.
OPEN = b": open\nretry: 1000\n\n"
HEARTBEAT = b": heartbeat\n\n"
END = b": end\nretry: 1000\n\n"


@dataclass(frozen=True)
class Block:
    """One block of the stream (the bytes up to and including a blank line) and when it arrived."""

    raw: bytes
    at: float  # seconds since the request was sent

    @property
    def lines(self) -> list[str]:
        """The block's lines, without the blank line that ends it."""
        return self.raw.decode("utf-8").split("\n")[:-2]

    def field(self, name: str) -> str | None:
        """The value of the first `name: value` line (one space after the colon), or None."""
        prefix = f"{name}: "
        return next((line[len(prefix) :] for line in self.lines if line.startswith(prefix)), None)

    @property
    def is_event(self) -> bool:
        """Whether the block is an event (an `id:` line), not a comment block."""
        return self.field("id") is not None


@dataclass
class EventStream:
    """An open GET /events: the response head, then its body block by block (chunked or close-delimited)."""

    sock: socket.socket
    started: float
    response: RawResponse
    buffer: bytes = b""  # raw bytes read from the socket, not yet decoded
    body: bytes = b""  # decoded body bytes not yet cut into blocks
    blocks: list[Block] = field(default_factory=list)  # every block returned so far
    ended: bool = False  # the response's body is complete (last chunk, Content-Length reached, or closed)
    received: int = 0  # body bytes received, for a body framed by Content-Length

    @classmethod
    def open(
        cls, address: tuple[str, int], target: str = "/events", headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> Self:  # fmt: skip
        """Send GET `target` and read the response head within `timeout` seconds."""
        sock = connect(address, timeout)
        started = time.monotonic()
        try:
            sock.sendall(request_bytes("GET", target, f"{address[0]}:{address[1]}", headers))
            stream = cls(sock, started, RawResponse("", 0))
            stream.response = stream._read_head(started + timeout)
        except BaseException:
            _reset(sock)
            raise
        return stream

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the connection with a reset, so the server's next write fails and frees its worker at once."""
        _reset(self.sock)

    def header(self, name: str) -> str | None:
        """A response header's first value."""
        return self.response.header(name)

    def next_block(self, timeout: float) -> Block | None:
        """The next block, or None when the response has ended; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self.body:
            if self.ended:
                return None
            self._read_body(deadline)
        index = self.body.index(b"\n\n") + 2
        block = Block(self.body[:index], time.monotonic() - self.started)
        self.body = self.body[index:]
        self.blocks.append(block)
        return block

    def read_events(self, count: int, timeout: float) -> list[Block]:
        """The next `count` events (comment blocks in between are skipped), all within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        events: list[Block] = []
        while len(events) < count:
            block = self.next_block(max(deadline - time.monotonic(), 0.0))
            if block is None:
                raise EOFError(f"the stream ended after {len(events)} of {count} events: {self.blocks!r}")
            if block.is_event:
                events.append(block)
        return events

    def read_to_end(self, timeout: float) -> list[Block]:
        """Every remaining block until the response ends; TimeoutError if it has not ended by then."""
        deadline = time.monotonic() + timeout
        rest: list[Block] = []
        while (block := self.next_block(max(deadline - time.monotonic(), 0.0))) is not None:
            rest.append(block)
        return rest

    @property
    def leftover(self) -> bytes:
        """Decoded body bytes after the last complete block (must be empty once the stream has ended)."""
        return self.body

    # -- reading, each recv bounded by the caller's deadline --------------------------------------

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"nothing more within the deadline; blocks so far: {self.blocks!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError(f"nothing more within the deadline; blocks so far: {self.blocks!r}") from None
        except ConnectionResetError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def _take_until(self, marker: bytes, deadline: float) -> bytes:
        while marker not in self.buffer:
            if not self._fill(deadline):
                raise EOFError(f"connection closed before {marker!r}; got {self.buffer[:200]!r}")
        index = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def _take_exactly(self, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            if not self._fill(deadline):
                raise EOFError(f"connection closed after {len(self.buffer)} of {size} bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _read_head(self, deadline: float) -> RawResponse:
        lines = self._take_until(b"\r\n\r\n", deadline).decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers = [
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        ]
        return RawResponse(version=version, status=int(status), headers=headers)

    def _read_body(self, deadline: float) -> None:
        """Decode at least one more piece of the body, or mark the body ended."""
        if (self.header("transfer-encoding") or "").lower() == "chunked":
            size = int(self._take_until(b"\r\n", deadline).split(b";")[0].strip(), 16)
            if size == 0:
                self._take_until(b"\r\n", deadline)  # no trailers: the empty line ends the message
                self.ended = True
                return
            self.body += self._take_exactly(size, deadline)
            self._take_until(b"\r\n", deadline)
        elif (length := self.header("content-length")) is not None:
            # A stream never has a Content-Length, but an error or a wrong HEAD-like answer may.
            missing = int(length) - self.received
            if missing <= 0 or not (self.buffer or self._fill(deadline)):
                self.ended = True
                return
            piece, self.buffer = self.buffer[:missing], self.buffer[missing:]
            self.body += piece
            self.received += len(piece)
        elif self.buffer or self._fill(deadline):
            # Delimited by the connection's close (HTTP/1.0 style, or Connection: close without chunking).
            self.body += self.buffer
            self.buffer = b""
        else:
            self.ended = True


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN. shutdown() first wakes a
    # thread blocked in recv() on this socket (close() alone would not).
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
