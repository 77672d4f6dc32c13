"""Fixtures: the application on a fresh SQLite file, called in-process through wsgiref's validator."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from wsgiref.validate import validator

import pytest
from tasks_api.app import create_app
from tasks_api.config import Settings
from tasks_api.db import Database, apply_schema

PASSWORD = "correct horse battery"


@dataclass
class Result:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def problem_type(self):
        return self.json()["type"].rsplit("/", 1)[-1]


class Client:
    """Calls a WSGI application the way a PEP 3333 server would, with the validator checking both sides."""

    def __init__(self, app):
        self.app = validator(app)  # asserts on every PEP 3333 rule the application breaks
        self.token = None

    def request(self, method, path, *, json_body=None, body=None, headers=None, query="", environ=None):
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        env = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",  # HTTP/1.1 requires it (RFC 9112 3.2)
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if body is not None:
            env["CONTENT_LENGTH"] = str(len(body))
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
        env.update(environ or {})
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = {k.lower(): v for k, v in response_headers}
            return lambda data: None

        iterable = self.app(env, start_response)
        try:
            data = b"".join(iterable)
        finally:
            iterable.close()  # the validator insists, as PEP 3333 does
        return Result(captured["status"], captured["headers"], data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.request("PATCH", path, json_body=json_body, **kw)

    def put(self, path, json_body=None, **kw):
        return self.request("PUT", path, json_body=json_body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, email="ada@example.com"):
        """Register `email` and keep a token for the next requests."""
        self.token = None
        assert self.post("/users", {"email": email, "password": PASSWORD, "name": "Ada"}).status == 201
        self.token = self.post("/tokens", {"email": email, "password": PASSWORD}).json()["access_token"]
        return self


@pytest.fixture
def settings(tmp_path):
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        secret_key="test-secret",
        cors_allow_origins=frozenset({"https://allowed.example"}),
    )


@pytest.fixture
def database(settings):
    db = Database(settings.database_url)
    apply_schema(db, settings.spec_dir)
    yield db
    db.dispose()


@pytest.fixture
def make_client():
    """Client itself, for a test that builds its own application."""
    return Client


@pytest.fixture
def client(settings, database):
    return Client(create_app(settings, database))


@pytest.fixture
def user(client):
    return client.login()
