"""The faults layer's own servers: a port started as its column starts it, behind fault proxies."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conformance import processes, server
from conformance.faultproxy import FaultProxy
from conformance.logcheck import CRASH_SUFFIX
from conformance.matrix import server_env
from conformance.ports import Port, Start
from conformance.settings import ServerSettings

# Short budgets (spec/README.md, "Configuration"), so that each experiment takes seconds, not minutes.
DATABASE_TIMEOUT_SECONDS = 2
IDEMPOTENCY_LEASE_SECONDS = 3
# Longer than the matrix's 1 s: a stream woken by Redis is then told apart, from outside, from one that
# only polls (an event within a second, against up to four).
EVENTS_POLL_SECONDS = 4
EVENTS_HEARTBEAT_SECONDS = 2
# Longer than any experiment, so that a stream opened before a fault is still open after it.
EVENTS_STREAM_SECONDS = 60
LOGIN_MAX_FAILURES = 5  # the spec's default, left as it is

FAULT_ENV = {
    "DATABASE_TIMEOUT_SECONDS": str(DATABASE_TIMEOUT_SECONDS),
    "IDEMPOTENCY_LEASE_SECONDS": str(IDEMPOTENCY_LEASE_SECONDS),
    "EVENTS_POLL_SECONDS": str(EVENTS_POLL_SECONDS),
    "LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
}


class NotReady(Exception):
    """The server did not become ready (the message has its log's tail)."""


@dataclass
class FaultServer:
    """A running instance, where it listens, and the proxies between it and its database and Redis."""

    name: str
    running: server.Server
    database_url: str  # the real database (not through the proxy), for checks behind the port's back
    database: FaultProxy | None  # None on SQLite: an embedded database has no connection to fail
    redis: FaultProxy | None  # None when the column runs without Redis

    @property
    def base_url(self) -> str:
        """The instance's http://127.0.0.1:<port>."""
        return self.running.base_url

    @property
    def address(self) -> tuple[str, int]:
        """(host, port), for raw-socket clients."""
        parts = urlsplit(self.base_url)
        return parts.hostname or server.HOST, parts.port or 80

    @property
    def master(self) -> int:
        """The pid of the process the start command runs (gunicorn's or granian's master)."""
        return self.running.process.pid

    def workers(self) -> list[int]:
        """The master's child processes: its workers."""
        return processes.children(self.master)

    def kill_worker(self) -> int | None:
        """SIGKILL one worker, the one holding the most sockets; its pid, or None when the master has none.

        The busiest, not the first by pid: one threaded worker may have accepted every connection of a
        burst, and killing an idle one would kill no request at all.
        """
        for pid in sorted(self.workers(), key=processes.socket_count, reverse=True):
            if processes.signal_process(pid, signal.SIGKILL):
                return pid
        return None


def log_path(directory: Path, name: str, crash: bool = False) -> Path:
    """Where an instance's log goes: <column>/faults/<name>.log, <name>-crash.log for a deliberate crash."""
    directory.mkdir(parents=True, exist_ok=True)
    # Never an existing file: a server started again (a fixture set up twice) must not truncate a log
    # that the `logs` row still has to read.
    for number in range(1, 1000):
        stem = name if number == 1 else f"{name}-{number}"
        path = directory / (f"{stem}{CRASH_SUFFIX}" if crash else f"{stem}.log")
        if not path.exists():
            return path
    raise FileExistsError(f"too many logs named {name} in {directory}")


@contextmanager
def fault_server(
    port: Port,
    start: Start,
    database_url: str,
    redis_url: str,
    log: Path,
    name: str,
    secret_key: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[FaultServer]:
    """Start `start` of `port` with its database (PostgreSQL) and Redis through fresh fault proxies.

    The environment is the matrix's (server_env) plus the short faults budgets, then `env` (settings an
    experiment needs short too, e.g. TOKEN_TTL_SECONDS); the server and its proxies are gone when the
    block ends, whatever happened.
    """
    database = FaultProxy.for_url(database_url, f"{name}-database") if _networked(database_url) else None
    redis = FaultProxy.for_url(redis_url, f"{name}-redis") if redis_url else None
    running: server.Server | None = None
    try:
        settings = ServerSettings(
            secret_key or secrets.token_urlsafe(32), EVENTS_HEARTBEAT_SECONDS, EVENTS_STREAM_SECONDS,
            redis.url(redis_url) if redis else "",
        )  # fmt: skip
        served_url = database.url(database_url) if database else database_url
        environment = {**server_env(port, served_url, settings), **FAULT_ENV, **(env or {})}
        running = server.start(start.command, port.directory, environment, log)
        processes.track(log, running.process.pid)
        problem = running.wait_ready(port.ready)
        if problem:
            raise NotReady(f"{port.name} ({name}): {problem}; log tail:\n{server.log_tail(log)}")
        yield FaultServer(name, running, database_url, database, redis)
    finally:
        # Whatever happened: the whole process group (workers too), then the proxies.
        if running is not None:
            running.kill()
            processes.untrack(log)
        for proxy in (database, redis):
            if proxy is not None:
                proxy.close()


def _networked(database_url: str) -> bool:
    return urlsplit(database_url).scheme.startswith("postgres")
