"""Fixtures for the behaviour layer: an HTTP client and fresh users, projects and tasks per test."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance.api import User, create_project, create_task, new_user
from conformance.paths import WEB_DIR


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP/1.1 client that never follows redirects (a redirect is itself a finding)."""
    with httpx.Client(base_url=base_url, timeout=15.0, follow_redirects=False) as http:
        yield http


@pytest.fixture
def user(client: httpx.Client) -> User:
    """A freshly registered user with a bearer token."""
    return new_user(client)


@pytest.fixture
def other_user(client: httpx.Client) -> User:
    """A second, unrelated user."""
    return new_user(client)


@pytest.fixture
def project(client: httpx.Client, user: User) -> dict[str, Any]:
    """A project owned by `user`."""
    return create_project(client, user)


@pytest.fixture
def task(client: httpx.Client, user: User, project: dict[str, Any]) -> dict[str, Any]:
    """A task in `project`."""
    return create_task(client, user, project["id"])


@pytest.fixture(scope="session")
def web_dir() -> Path:
    """The repository's web/ (the matrix's WEB_DIR): the pages every port serves byte for byte."""
    return WEB_DIR
