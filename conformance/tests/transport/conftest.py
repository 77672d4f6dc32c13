"""Fixtures for the transport layer: a registered user and the Host header value."""

from collections.abc import Iterator

import httpx
import pytest
from conformance.api import User, new_user


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """An ordinary client, for setting up and checking state around the raw-socket requests."""
    with httpx.Client(base_url=base_url, timeout=15.0) as http:
        yield http


@pytest.fixture
def user(client: httpx.Client) -> User:
    """A freshly registered user with a bearer token."""
    return new_user(client)


@pytest.fixture
def host(address: tuple[str, int]) -> str:
    """The Host header for the server under test."""
    return f"{address[0]}:{address[1]}"
