"""The real start command: schema applied in gunicorn's on_starting, JSON access log, clean SIGTERM exit."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

PORT_DIR = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_applies_the_schema_serves_and_stops_cleanly(tmp_path):
    database = tmp_path / "served.db"
    port = _free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "WEB_CONCURRENCY": "1"}
    bind = f"127.0.0.1:{port}"
    command = [
        str(gunicorn),
        "--config",
        "gunicorn.conf.py",
        "--bind",
        bind,
        "tasks_project.wsgi:application",
    ]
    server = subprocess.Popen(
        command, cwd=PORT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"X-Request-ID": "boot-1"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        assert ready.status_code == 200 and ready.headers["x-request-id"] == "boot-1"
        with sqlite3.connect(database) as check:
            tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {"users", "tokens", "projects", "tasks", "idempotency_keys"} <= tables
            assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=15)
    assert status == 0
    lines = [json.loads(line) for line in server.stdout.read().decode().splitlines() if line.startswith("{")]
    assert any(line["path"] == "/readyz" and line["request_id"] == "boot-1" for line in lines)
