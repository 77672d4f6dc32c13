"""SIGTERM under write load on kept-alive connections: every request sent is answered, exit status 0."""

import json
import select
import signal
import socket
import threading
import time

from conformance.answers import loopback_client, percentiles
from conformance.api import User, new_user
from conformance.database import stored_ids
from conformance.rawhttp import Reader, request_bytes
from conformance.server import SHUTDOWN_TIMEOUT

CONNECTIONS = 16
SIGTERM_AT = 1.0  # seconds of load before the signal
SOCKET_TIMEOUT = 20.0  # a response later than this counts as a drop (gunicorn's graceful timeout is 10 s)
REQUEST_TIMEOUT = 15.0


def test_sigterm_under_keepalive_load(column, instance, exclusive, record):
    """Requests sent before or during the shutdown are all answered; the server exits 0 in time."""
    column.skip_if_mixed()
    with instance("shutdown") as running:
        with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
            user = new_user(client)
        signalled = threading.Event()
        tally = Tally()
        threads = [
            threading.Thread(
                target=connection, args=(running.address, user, index, signalled, tally), daemon=True
            )
            for index in range(CONNECTIONS)
        ]
        with exclusive():
            for thread in threads:
                thread.start()
            time.sleep(SIGTERM_AT)
            running.running.process.send_signal(signal.SIGTERM)
            terminated = time.monotonic()
            signalled.set()
            try:
                status = running.running.process.wait(SHUTDOWN_TIMEOUT)
            except Exception:  # TimeoutExpired: killed below, by the instance's context
                status = None
            exit_seconds = time.monotonic() - terminated
            for thread in threads:
                thread.join(SOCKET_TIMEOUT + 1.0)
            stuck = sum(thread.is_alive() for thread in threads)
    # The server is gone: whether each acknowledged create was stored is read from the database itself.
    created = tally.created()
    lost = sorted(set(created) - stored_ids(running.database_url, "projects", created))

    record(
        "shutdown",
        {
            "connections": CONNECTIONS,
            "sent": tally.sent,
            "answered": tally.by_status(),
            "dropped": len(tally.dropped),
            "unsent": tally.unsent,
            "answered_after_sigterm": tally.after_signal,
            "exit_status": status,
            "exit_seconds": round(exit_seconds, 2),
            "lost": len(lost),
            "stuck": stuck,
            "durations": percentiles([seconds for _, _, seconds in tally.answers]),
        },
    )
    assert status == 0, (
        f"exit status {status} ({exit_seconds:.1f} s after SIGTERM; limit {SHUTDOWN_TIMEOUT} s)"
    )
    assert not tally.dropped, (
        f"{len(tally.dropped)} of {tally.sent} requests sent and never answered: {tally.dropped[:5]}"
    )
    assert stuck == 0, f"{stuck} connections still open {SOCKET_TIMEOUT} s after the server exited"
    assert not lost, f"acknowledged (201) but not stored: {lost[:10]}"
    bad = {status: count for status, count in tally.by_status().items() if status != "201"}
    assert not bad, f"answers other than 201: {bad}"


class Tally:
    """What the connections saw, from every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.unsent = 0  # the server had closed the idle connection before the request went out
        self.after_signal = 0
        self.answers: list[tuple[int, int | None, float]] = []  # (status, created id, seconds)
        self.dropped: list[str] = []

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status, _, _ in self.answers:
            counts[str(status)] = counts.get(str(status), 0) + 1
        return dict(sorted(counts.items()))

    def created(self) -> list[int]:
        return [created for status, created, _ in self.answers if status == 201 and created is not None]


def connection(address, user: User, index: int, signalled: threading.Event, tally: Tally) -> None:
    """POST after POST on one kept-alive connection; a new connection only before the SIGTERM."""
    host = f"{address[0]}:{address[1]}"
    sock: socket.socket | None = None
    reader: Reader | None = None
    number = 0
    while True:
        if sock is None:
            if signalled.is_set():
                return  # a connection opened after the signal may be refused: such a request is not sent
            try:
                sock = socket.create_connection(address, timeout=SOCKET_TIMEOUT)
            except OSError:
                return
            reader = Reader(sock)
        assert reader is not None
        if closed_by_server(sock):
            # The server closed this idle connection before the request went out: nothing was sent.
            with tally.lock:
                tally.unsent += 1
            sock.close()
            sock = None
            continue
        number += 1
        body = json.dumps({"name": f"shutdown {index}-{number}"}).encode()
        headers = {**user.auth, "Content-Type": "application/json"}
        during = signalled.is_set()
        started = time.monotonic()
        try:
            sock.sendall(request_bytes("POST", "/projects", host, headers, body))
        except OSError:
            with tally.lock:
                tally.unsent += 1
            sock.close()
            sock = None
            continue
        with tally.lock:
            tally.sent += 1
        try:
            response = reader.read_response()
        except (OSError, EOFError) as exc:
            with tally.lock:
                tally.dropped.append(
                    f"connection {index}, request {number}: {type(exc).__name__}: {exc}"[:200]
                )
            sock.close()
            sock = None
            continue
        created = None
        if response.status == 201:
            created = json.loads(response.body).get("id")
        with tally.lock:
            tally.answers.append((response.status, created, time.monotonic() - started))
            tally.after_signal += during or signalled.is_set()
        if (response.header("connection") or "").lower() == "close":
            sock.close()
            sock = None


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (end of stream waiting) or reset it, without reading."""
    readable = select.select([sock], [], [], 0)[0]
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
