"""Command-line options every layer shares: which server to test and what it was started with."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conformance.paths import DEFAULT_SECRET_KEY, SPEC_DIR
from conformance.settings import DEFAULT_EVENTS_HEARTBEAT_SECONDS, DEFAULT_EVENTS_STREAM_SECONDS


def pytest_addoption(parser: pytest.Parser) -> None:
    """--base-url (required), --secret-key, --spec-dir, event timings; each also read from the environment."""
    group = parser.getgroup("conformance")
    group.addoption("--base-url", default=os.environ.get("CONFORMANCE_BASE_URL"), help="server under test")
    group.addoption(
        "--secret-key",
        default=os.environ.get("CONFORMANCE_SECRET_KEY", DEFAULT_SECRET_KEY),
        help="the server's SECRET_KEY (to check and forge cursors)",
    )
    group.addoption(
        "--spec-dir",
        default=os.environ.get("CONFORMANCE_SPEC_DIR", str(SPEC_DIR)),
        help="the spec: the openapi.yaml the server must serve, and the README the expectations come from",
    )
    group.addoption(
        "--events-heartbeat-seconds",
        type=int,
        default=int(os.environ.get("CONFORMANCE_EVENTS_HEARTBEAT_SECONDS", DEFAULT_EVENTS_HEARTBEAT_SECONDS)),
        help="the server's EVENTS_HEARTBEAT_SECONDS",
    )
    group.addoption(
        "--events-stream-seconds",
        type=int,
        default=int(os.environ.get("CONFORMANCE_EVENTS_STREAM_SECONDS", DEFAULT_EVENTS_STREAM_SECONDS)),
        help="the server's EVENTS_STREAM_SECONDS",
    )


def pytest_configure(config: pytest.Config) -> None:
    """The expectations read from the spec (conformance/spec.py) use the --spec-dir given."""
    os.environ["CONFORMANCE_SPEC_DIR"] = str(config.getoption("spec_dir"))


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str:
    """Base URL of the server under test, without a trailing slash."""
    url = pytestconfig.getoption("base_url")
    if not url:
        raise pytest.UsageError("give --base-url or set CONFORMANCE_BASE_URL")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def address(base_url: str) -> tuple[str, int]:
    """(host, port) of the server, for raw-socket tests."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or parts.hostname is None:
        raise pytest.UsageError("the suite speaks plain http:// only")
    return parts.hostname, parts.port or 80


@pytest.fixture(scope="session")
def secret_key(pytestconfig: pytest.Config) -> str:
    """The SECRET_KEY the server was started with."""
    return pytestconfig.getoption("secret_key")


@pytest.fixture(scope="session")
def spec_dir(pytestconfig: pytest.Config) -> Path:
    """Directory of the contract files."""
    return Path(pytestconfig.getoption("spec_dir"))


@pytest.fixture(scope="session")
def events_heartbeat_seconds(pytestconfig: pytest.Config) -> int:
    """The server's EVENTS_HEARTBEAT_SECONDS."""
    return pytestconfig.getoption("events_heartbeat_seconds")


@pytest.fixture(scope="session")
def events_stream_seconds(pytestconfig: pytest.Config) -> int:
    """The server's EVENTS_STREAM_SECONDS."""
    return pytestconfig.getoption("events_stream_seconds")
