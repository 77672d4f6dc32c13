"""Fixtures for the cross-port tests: every port behind the gateway, by name, each with its own client."""

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """--port-urls name=url,... : the ports the gateway (--base-url) balances over."""
    parser.getgroup("conformance").addoption(
        "--port-urls",
        default=os.environ.get("CONFORMANCE_PORT_URLS"),
        help="comma-separated name=url of every port behind the gateway, e.g. flask=http://127.0.0.1:8001",
    )


@pytest.fixture(scope="session")
def port_urls(pytestconfig: pytest.Config) -> dict[str, str]:
    """Each port's base URL, in the order given; at least two, or there is nothing to cross."""
    value = pytestconfig.getoption("port_urls", default=None)
    if not value:
        raise pytest.UsageError("the mixed tests need --port-urls name=url,name=url,...")
    urls = dict(item.split("=", 1) for item in value.split(",") if item)
    if len(urls) < 2:
        raise pytest.UsageError("the mixed tests need at least two ports in --port-urls")
    return {name: url.rstrip("/") for name, url in urls.items()}


@pytest.fixture(scope="session")
def port_addresses(port_urls: dict[str, str]) -> dict[str, tuple[str, int]]:
    """(host, port) of each port, for raw-socket streams."""
    addresses = {}
    for name, url in port_urls.items():
        parts = urlsplit(url)
        assert parts.hostname is not None, url
        addresses[name] = (parts.hostname, parts.port or 80)
    return addresses


@pytest.fixture
def clients(port_urls: dict[str, str]) -> Iterator[list[httpx.Client]]:
    """One client per port, in --port-urls order; tests index it modulo its length (A, B, C, D)."""
    opened = [httpx.Client(base_url=url, timeout=15.0, follow_redirects=False) for url in port_urls.values()]
    try:
        yield opened
    finally:
        for client in opened:
            client.close()


@pytest.fixture
def gateway(base_url: str) -> Iterator[httpx.Client]:
    """A client of the gateway (--base-url)."""
    with httpx.Client(base_url=base_url, timeout=15.0, follow_redirects=False) as client:
        yield client
