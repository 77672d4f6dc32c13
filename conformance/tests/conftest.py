"""Command-line options every layer shares: which server to test and what it was started with."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conformance.paths import DEFAULT_SECRET_KEY, SPEC_DIR


def pytest_addoption(parser: pytest.Parser) -> None:
    """--base-url (required), --secret-key and --spec-dir, each also readable from the environment."""
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
        help="directory holding the openapi.yaml the server must serve",
    )


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
