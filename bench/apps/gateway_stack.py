"""The gateway scenario's server: every port on one database and nginx (deploy/nginx/gateway.conf) in front,
as children of this one process, so the harness measures their CPU together and stops them together.

Usage: python gateway_stack.py SPEC.json. SPEC: {"ports": [{"name", "argv", "cwd", "env", "port"}],
"nginx": argv, "ready": path}. Ports start one at a time (each applies spec/schema.sql before it serves:
four concurrent CREATE TABLE IF NOT EXISTS on one PostgreSQL database can collide), then nginx.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time

children: list[subprocess.Popen[bytes]] = []


def _ready(port: int, path: str, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return True
        time.sleep(0.3)
    return False


def _stop(signum: int = signal.SIGTERM, frame: object = None) -> None:
    """SIGTERM every child (nginx first: no request reaches a stopping port), wait, then exit."""
    for child in reversed(children):
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
    for child in reversed(children):
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=15)
        if child.poll() is None:
            child.kill()
    sys.exit(0)


def main() -> None:
    """Start the stack, then wait for SIGTERM (or a child's death: the run's cells then fail)."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    spec = json.loads(open(sys.argv[1]).read())  # noqa: SIM115 - read once at start
    for port in spec["ports"]:
        env = {**os.environ, **port["env"]}
        children.append(subprocess.Popen(port["argv"], cwd=port["cwd"], env=env))  # its access log: ours
        if not _ready(port["port"], spec["ready"]):
            print(f"gateway stack: {port['name']} not ready", file=sys.stderr)
            _stop()
    children.append(subprocess.Popen(spec["nginx"], cwd=spec["prefix"]))
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    print("gateway stack: a child exited", file=sys.stderr)
    _stop()


if __name__ == "__main__":
    main()
