"""Fixtures: an app on a fresh SQLite file with the schema applied, its test client, a registered user."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tasks_api.app import create_app
from tasks_api.db import apply_schema

PASSWORD = "correct horse battery"


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    """Build an app on its own database, with config overrides."""

    def build(**overrides: Any) -> Flask:
        config = {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
            "SECRET_KEY": "unit-test-secret",
            "CORS_ALLOW_ORIGINS": "https://allowed.example",
            **overrides,
        }
        app = create_app(config)
        if (
            app.config["DATABASE_URL"].startswith("sqlite")
            and "missing-dir" not in app.config["DATABASE_URL"]
        ):
            apply_schema(app.extensions["tasks_api.engine"], app.config["SPEC_DIR"])
        return app

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def register(client: FlaskClient, email: str = "ada@example.com") -> dict[str, str]:
    """Register a user and log in; the Authorization header."""
    assert (
        client.post("/users", json={"email": email, "password": PASSWORD, "name": "Ada"}).status_code == 201
    )
    response = client.post("/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json['access_token']}"}


@pytest.fixture
def auth(client: FlaskClient) -> dict[str, str]:
    return register(client)
