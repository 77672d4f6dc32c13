"""Fixtures: a fresh SQLite database per test, the schema applied, and a TestClient on a new app."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tasks_api import db
from tasks_api.app import create_app


@pytest.fixture
def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Set environment variables, then forget the cached settings and engine so they apply."""

    def apply(**env: str) -> None:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'test.db'}")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        db.reset()

    apply()
    yield apply
    db.reset()


@pytest.fixture
def make_client(configure) -> Iterator[object]:
    """A function returning a TestClient of a new app, after applying the schema (as gunicorn does)."""
    clients: list[TestClient] = []

    def make(apply_schema: bool = True, **env: str) -> TestClient:
        configure(**env)
        if apply_schema:
            db.apply_schema()
        client = TestClient(create_app(), raise_server_exceptions=False)
        client.__enter__()  # runs the lifespan
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    """A client on the default settings."""
    return make_client()


def register(client: TestClient, email: str = "ada@example.com", password: str = "correct horse") -> str:
    """Create a user and return a bearer token for them."""
    assert (
        client.post("/users", json={"email": email, "password": password, "name": "Ada"}).status_code == 201
    )
    response = client.post("/tokens", json={"email": email, "password": password})
    assert response.status_code == 201
    return response.json()["access_token"]
