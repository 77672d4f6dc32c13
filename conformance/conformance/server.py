"""Start a port's server on a free local port, wait until it is ready, and stop it with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without our own virtualenv, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONHOME"}}
    return {**env, **extra}


def resolve(argv: list[str]) -> list[str]:
    """Find `uv` even when it is not on PATH (make runs us through its own uv, which sets $UV)."""
    if argv and argv[0] == "uv" and shutil.which("uv") is None and os.environ.get("UV"):
        return [os.environ["UV"], *argv[1:]]
    return argv


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for a failure message."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Server:
    """A running server process and where it listens."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def wait_ready(self, path: str, timeout: float = READY_TIMEOUT) -> str | None:
        """Poll `path` until it answers 200; return None when ready, else why not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"the server exited with status {self.process.returncode} before it was ready"
            try:
                if httpx.get(self.base_url + path, timeout=2.0).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        return f"not ready within {timeout:.0f} s"

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT) -> str | None:
        """SIGTERM the server; return None on a clean exit (status 0 in time), else what went wrong."""
        if self.process.poll() is not None:
            return f"the server had already exited with status {self.process.returncode}"
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return f"still running {timeout:.0f} s after SIGTERM (killed)"
        return None if status == 0 else f"exited with status {status} after SIGTERM"

    def kill(self) -> None:
        """SIGKILL the server's whole process group (its workers too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start(command: list[str], cwd: Path, env: dict[str, str], log: Path, port: int | None = None) -> Server:
    """Start `command` ({host} and {port} filled in: `port`, or a free one) in `cwd`, output to `log`."""
    port = port or free_port()
    argv = [part.replace("{host}", HOST).replace("{port}", str(port)) for part in command]
    with open(log, "wb") as sink:
        # A session of its own, so that a hung server can be killed with all its workers.
        process = subprocess.Popen(
            resolve(argv),
            cwd=cwd,
            env=clean_env(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(process=process, base_url=f"http://{HOST}:{port}", log=log)
