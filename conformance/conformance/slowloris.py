"""A bounded slow-client probe: many trickling request heads, and ordinary requests timed meanwhile."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class ProbeResult:
    """What the ordinary client saw while the slow connections were held open."""

    connections: int = 0  # slow connections opened
    dropped: int = 0  # slow connections the server closed before the end
    ok: int = 0  # ordinary requests answered 200 within the timeout
    failed: int = 0  # ordinary requests that timed out, failed or got another status
    slowest: float = 0.0  # seconds, the slowest ordinary request that succeeded
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        return (
            f"slow connections: {self.connections} opened, {self.dropped} closed by the server; "
            f"ordinary GET /healthz: {self.ok} ok, {self.failed} failed, slowest ok {self.slowest:.2f} s"
        )


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        # A denial-of-service probe: it may only ever point at this machine.
        raise ValueError(f"the slow-client probe targets loopback http:// URLs only, not {base_url}")
    return parts.hostname, parts.port or 80


def _ordinary(base_url: str, stop: threading.Event, timeout: float, result: ProbeResult) -> None:
    """GET /healthz on a new connection every quarter second until `stop`."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            # A new connection each time, as a new visitor would open: that is what a server must accept.
            response = httpx.get(f"{base_url}/healthz", timeout=timeout, headers={"Connection": "close"})
            ok = response.status_code == 200
            if not ok:
                result.errors.append(f"status {response.status_code}")
        except httpx.HTTPError as exc:
            ok = False
            result.errors.append(type(exc).__name__)
        elapsed = time.monotonic() - started
        if ok:
            result.ok += 1
            result.slowest = max(result.slowest, elapsed)
        else:
            result.failed += 1
        stop.wait(max(0.25 - elapsed, 0.0))


def probe(
    base_url: str, connections: int = 100, seconds: float = 10.0, interval: float = 1.0, timeout: float = 2.0
) -> ProbeResult:
    """Hold `connections` slow request heads open for `seconds` while timing ordinary requests."""
    host, port = _address(base_url)
    connections = min(connections, 500)  # bounded whatever the caller asks
    seconds = min(seconds, 60.0)
    result = ProbeResult()
    slow: list[socket.socket] = []
    stop = threading.Event()
    worker = threading.Thread(target=_ordinary, args=(base_url, stop, timeout, result), daemon=True)
    try:
        for _ in range(connections):
            with contextlib.suppress(OSError):
                sock = socket.create_connection((host, port), timeout=2.0)
                # A request head that never ends: one more header line per interval.
                sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
                slow.append(sock)
        result.connections = len(slow)
        worker.start()
        deadline = time.monotonic() + seconds
        line = 0
        while time.monotonic() < deadline:
            line += 1
            for sock in slow:
                if sock.fileno() == -1:
                    continue
                try:
                    sock.sendall(f"X-Slow-{line}: 1\r\n".encode())
                except OSError:
                    result.dropped += 1
                    sock.close()
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
    finally:
        stop.set()
        if worker.is_alive():
            worker.join(timeout + 1.0)
        for sock in slow:
            sock.close()
    return result
