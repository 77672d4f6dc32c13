"""Tiny PEP 3333 helpers: a Request that reads the environ, a Response that becomes status, headers, body."""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from wsgiref.types import WSGIEnvironment

from tasks_api.errors import PROBLEM_CONTENT_TYPE, ApiError

if TYPE_CHECKING:  # only for type hints: these modules do not need http.py, and must not import it back
    from tasks_api.config import Settings
    from tasks_api.db import Database
    from tasks_api.wakeups import Wakeups

# Keys under which the application puts its shared objects into each environ (PEP 3333 reserves
# dotted lower-case names for servers and middleware, so a prefix keeps them apart).
SETTINGS_KEY = "tasks_api.settings"
DATABASE_KEY = "tasks_api.database"
WAKEUPS_KEY = "tasks_api.wakeups"
REQUEST_ID_KEY = "tasks_api.request_id"
BODY_READ_KEY = "tasks_api.body_read"  # True once the whole request body has been read
CLOSE_KEY = "tasks_api.close_connection"  # True: the server must close the connection after the response

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
# RFC 5789 3.1: the patch formats a PATCH takes, on OPTIONS (routing.py) and on a 415 to a PATCH (body.py).
ACCEPT_PATCH = f"{JSON}, {MERGE_PATCH}"


class Request:
    """Read-only view of one WSGI environ, with the few accessors the handlers need."""

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method: str = environ["REQUEST_METHOD"]
        # PEP 3333 hands the path over as bytes decoded as latin-1; undo that to get the real text.
        self.path: str = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        """A request header by its HTTP name (`If-Match`), None when absent; "" is present but empty."""
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):  # the two headers CGI names without HTTP_
            key = "HTTP_" + key
        return self.environ.get(key)

    @property
    def query(self) -> list[tuple[str, str]]:
        """The query string as (name, value) pairs, repeats kept so that they can be refused."""
        return parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True)

    @property
    def settings(self) -> Settings:
        return self.environ[SETTINGS_KEY]

    @property
    def db(self) -> Database:
        return self.environ[DATABASE_KEY]

    @property
    def wakeups(self) -> Wakeups:
        return self.environ[WAKEUPS_KEY]


@dataclass(frozen=True)
class Response:
    """A response: the body is bytes in memory (every body of this API is small), or else a stream.

    `stream` is a body made while it is sent (GET /events): an iterator the server pulls chunk by
    chunk and closes at the end, without Content-Length.
    """

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Generator[bytes, None, None] | None = None

    @classmethod
    def json(cls, data: object, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
        """A JSON response: `application/json` without charset, as JSON is UTF-8 by definition."""
        return cls.raw(status, json_bytes(data), JSON, headers)

    @classmethod
    def raw(
        cls, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        """A response with a body sent as given, byte for byte."""
        framing = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        return cls(status, body, framing + (headers or []))

    @classmethod
    def streaming(
        cls, chunks: Generator[bytes, None, None], content_type: str, headers: list[tuple[str, str]]
    ) -> Response:
        """A 200 whose body is sent chunk by chunk as `chunks` yields it (HTTP/1.1 chunked encoding)."""
        return cls(200, b"", [("Content-Type", content_type), *headers], chunks)

    @classmethod
    def empty(cls, status: int = 204, headers: list[tuple[str, str]] | None = None) -> Response:
        """A response without a body (204, 304): no Content-Type and no Content-Length (RFC 9110)."""
        return cls(status, b"", headers or [])

    @classmethod
    def problem(cls, error: ApiError) -> Response:
        """The problem+json rendering of an ApiError, plus its own headers (Allow, WWW-Authenticate)."""
        return cls.raw(error.status, error.body(), PROBLEM_CONTENT_TYPE, error.headers)

    @property
    def status_line(self) -> str:
        return _STATUS_LINES[self.status]

    def header(self, name: str) -> str | None:
        """The first value of a response header, matched case-insensitively."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


# Built once per process: json.dumps() with any non-default argument makes a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def json_bytes(data: object) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are sent, and stored for idempotent replays."""
    return _ENCODER.encode(data).encode("utf-8")
