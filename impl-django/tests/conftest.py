"""Django set up on a throw-away SQLite database with spec/schema.sql applied, and a test client."""

import os
import tempfile
from pathlib import Path

# Before Django reads its settings: a database of our own, and a known CORS origin.
_DB_DIR = Path(tempfile.mkdtemp(prefix="tasks-django-tests-"))
os.environ["DATABASE_URL"] = f"sqlite:///{_DB_DIR / 'tests.db'}"
os.environ["CORS_ALLOW_ORIGINS"] = "https://allowed.example"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasks_project.settings")

import django  # noqa: E402

django.setup()

import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from tasks_api.db import apply_schema  # noqa: E402

setup_test_environment()  # lets the test client's Host ("testserver") through ALLOWED_HOSTS
apply_schema(settings.SPEC_DIR)


@pytest.fixture
def client():
    # A Host header, as every HTTP/1.1 client sends (Django's test client sends none by default).
    return Client(raise_request_exception=False, HTTP_HOST="testserver")


@pytest.fixture
def user_token(client):
    """A fresh user's bearer token."""
    import uuid

    email = f"u-{uuid.uuid4().hex}@example.com"
    body = {"email": email, "password": "correct horse battery", "name": "U"}
    assert client.post("/users", body, content_type="application/json").status_code == 201
    response = client.post(
        "/tokens", {"email": email, "password": "correct horse battery"}, content_type="application/json"
    )
    assert response.status_code == 201
    return response.json()["access_token"]
