"""Start one port for real (its port.toml's first start) on a temporary SQLite database; stop it by PID."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from client_check.generate import REPO
from portfile import load

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Running:
    """A started port: where it listens, its PID, and how long it took to be ready."""

    name: str
    start: str
    base_url: str
    pid: int
    ready_seconds: float


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _argv(command: list[str]) -> list[str]:
    """The start command, with `uv` found in the repository's .tools/ when it is not on PATH."""
    if command and command[0] == "uv" and shutil.which("uv") is None:
        return [os.environ.get("UV") or str(REPO / ".tools" / "bin" / "uv"), *command[1:]]
    return command


def _tail(log: Path, lines: int = 30) -> str:
    """The end of the server's log, for a failure message."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll `url` until it answers 200; RuntimeError (with the log's tail) if it exits or times out."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"not ready within {READY_TIMEOUT:.0f} s at {url}:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM the server's PID, wait for it, SIGKILL it if it outlives STOP_TIMEOUT; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    return process.returncode


@contextlib.contextmanager
def running_port(name: str) -> Iterator[Running]:
    """impl-<name> under its first start on a fresh SQLite file, stopped (by PID) however the block ends."""
    port = load(REPO / f"impl-{name}" / "port.toml")
    start = port.starts[0]
    with tempfile.TemporaryDirectory(prefix="client-check-") as tmp:
        database = Path(tmp) / "tasks.db"
        number = free_port()
        inherited = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME"}}
        env = {
            **inherited,
            **port.env,
            # spec/README.md, "Configuration": the four settings a port needs to serve from here.
            "DATABASE_URL": f"sqlite:///{database}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "SPEC_DIR": str(REPO / "spec"),
            "WEB_DIR": str(REPO / "web"),
        }
        log = Path(tmp) / "server.log"
        started = time.monotonic()
        with log.open("wb") as out:
            # Its own session: a Ctrl-C in the terminal reaches this process only, which stops the server.
            process = subprocess.Popen(
                _argv(start.argv(HOST, number)),
                cwd=port.directory,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_ready(process, f"http://{HOST}:{number}{port.ready}", log)
            ready = time.monotonic() - started
            yield Running(port.name, start.name, f"http://{HOST}:{number}", process.pid, ready)
        finally:
            status = _stop(process)
            if status != 0:
                print(f"client: {port.name} ({start.name}, PID {process.pid}) exited {status} on SIGTERM")
