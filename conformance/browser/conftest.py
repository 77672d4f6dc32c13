"""The browser test's server: one port (--browser-port, default raw-wsgi) on a fresh SQLite database."""

from __future__ import annotations

import secrets
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import devtools
import pytest
from conformance.database import sqlite_database
from conformance.paths import REPO_ROOT, SPEC_DIR, WEB_DIR
from conformance.ports import discover

from conformance import server

# A short stream, so the test sees the page reconnect after `: end` within seconds.
EVENTS_STREAM_SECONDS = 4
EVENTS_HEARTBEAT_SECONDS = 2


@dataclass(frozen=True)
class Served:
    """The running server: its base URL and its live-event timings."""

    base_url: str
    stream_seconds: int


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM unwinds like Ctrl-C, so that the fixtures stop the servers (and browsers, databases)
    they started, each in a session of its own, instead of leaving them without a parent."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    """--browser-port, --browser-start, --screenshots."""
    group = parser.getgroup("browser")
    group.addoption("--browser-port", default="raw-wsgi", help="the port to serve the pages (port.toml name)")
    group.addoption("--browser-start", default=None, help="its [[start]] name (default: the first)")
    group.addoption(
        "--screenshots", default=str(REPO_ROOT / "docs" / "screenshots"), help="where the PNGs go"
    )


@pytest.fixture(scope="session")
def served(pytestconfig: pytest.Config) -> Iterator[Served]:
    """Set the port up, serve it on a fresh SQLite database with WEB_DIR, stop it afterwards."""
    (port,) = discover([pytestconfig.getoption("browser_port")])
    wanted = pytestconfig.getoption("browser_start")
    start = next(entry for entry in port.starts if wanted in (None, entry.name))
    logs = Path(tempfile.mkdtemp(prefix="browser-test-"))
    for step in port.setup:
        done = subprocess.run(server.resolve(step), cwd=port.directory, env=server.clean_env({}),
                              capture_output=True, timeout=900, check=False)  # fmt: skip
        assert done.returncode == 0, f"setup {step} failed:\n{done.stdout.decode()}{done.stderr.decode()}"
    with sqlite_database() as database_url:
        env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "SPEC_DIR": str(SPEC_DIR),
            "WEB_DIR": str(WEB_DIR),
            "EVENTS_POLL_SECONDS": "1",
            "EVENTS_HEARTBEAT_SECONDS": str(EVENTS_HEARTBEAT_SECONDS),
            "EVENTS_STREAM_SECONDS": str(EVENTS_STREAM_SECONDS),
            **port.env,
        }
        running = server.start(start.command, port.directory, env, logs / "server.log")
        try:
            not_ready = running.wait_ready(port.ready)
            assert not_ready is None, f"{not_ready}\n{server.log_tail(running.log)}"
            yield Served(running.base_url, EVENTS_STREAM_SECONDS)
            running.stop()
        finally:
            running.kill()


@pytest.fixture
def browser() -> Iterator[devtools.Browser]:
    """A fresh headless Chromium with one page."""
    with devtools.launch() as chromium:
        chromium.open_page()
        yield chromium


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    """Directory of the screenshots."""
    return Path(pytestconfig.getoption("screenshots"))
