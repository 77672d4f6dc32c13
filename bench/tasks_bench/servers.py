"""Start a server (optionally pinned to a CPU), wait until it answers, stop it with SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


@dataclass
class Variant:
    """One server to benchmark: a port under one start command, a bare app, or nginx."""

    name: str  # e.g. "flask:gunicorn", "hello:gthread", "nginx", "wait:sync", "floor:gunicorn-gthread"
    group: str  # "port", "ceiling", "exec", "floor" or "gateway"
    server: str  # the server configuration, e.g. "gunicorn-gthread"; ports are compared to this hello
    argv: list[str]
    cwd: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ready: str = "/"
    process: subprocess.Popen[bytes] | None = None
    access_log: Path | None = None
    error_log: Path | None = None
    database: str = ""  # "sqlite" or "postgres" for a server with a database, "" for the others

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without our own virtualenv, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH"}}
    return {**env, **extra}


def start(variant: Variant, log_dir: Path, cpu: str | None) -> None:
    """Start `variant`'s server in a session of its own; stdout (the access log) and stderr go to files."""
    slug = variant.name.replace(":", "-")
    variant.access_log, variant.error_log = log_dir / f"{slug}.access.log", log_dir / f"{slug}.log"
    argv = (["taskset", "-c", cpu] if cpu is not None else []) + variant.argv
    # O_APPEND, so the harness can truncate the access log between runs while the server keeps writing.
    with open(variant.access_log, "ab") as out, open(variant.error_log, "ab") as err:
        variant.process = subprocess.Popen(
            argv, cwd=variant.cwd, env=clean_env(variant.env), stdout=out, stderr=err, start_new_session=True
        )


def get(port: int, path: str, timeout: float = 2.0) -> int:
    """The status of GET `path` on 127.0.0.1:`url_port`."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def wait_ready(variant: Variant, timeout: float) -> str | None:
    """Poll the ready path until 200; None when ready, else why not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert variant.process is not None
        if variant.process.poll() is not None:
            return f"{variant.name} exited with status {variant.process.returncode}; see {variant.error_log}"
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(variant.port, variant.ready) == 200:
                return None
        time.sleep(0.3)
    return f"{variant.name} not ready within {timeout:.0f} s; see {variant.error_log}"


def stop(variant: Variant, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL the whole session (workers too) if it does not exit in time."""
    process = variant.process
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def truncate_access_log(variant: Variant) -> None:
    """Empty the access log: its lines are written (the cost is measured) but not kept."""
    if variant.access_log is not None:
        with contextlib.suppress(FileNotFoundError):
            os.truncate(variant.access_log, 0)
