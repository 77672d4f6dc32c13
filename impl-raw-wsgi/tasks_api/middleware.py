"""WSGI middleware: a request id on every response, one JSON access-log line per request, CORS."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from tasks_api.http import REQUEST_ID_KEY

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII: safe to echo in a header and a log
EXPOSED_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"

# Each middleware wraps start_response to add or read headers: in WSGI that is the only place where
# the response's status and headers pass through on their way to the server.


def request_id(app: WSGIApplication) -> WSGIApplication:
    """Adopt the client's X-Request-ID when it is 1 to 128 visible ASCII characters, else make a UUID4."""

    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        environ[REQUEST_ID_KEY] = given if _REQUEST_ID.fullmatch(given) else str(uuid.uuid4())

        def start(status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None) -> object:
            return start_response(status, [*headers, ("X-Request-ID", environ[REQUEST_ID_KEY])], exc_info)

        return app(environ, start)

    return middleware


def access_log(app: WSGIApplication, logger: logging.Logger | None = None) -> WSGIApplication:
    """One JSON line per request (time, method, path, status, duration_ms, request_id), to stdout."""
    logger = logger or _stdout_logger()

    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[int] = []

        def start(
            status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> object:
            status.append(int(status_line[:3]))
            return start_response(status_line, headers, exc_info)

        # The application below returns its whole body as a list, so the response is complete here.
        body = app(environ, start)
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "status": status[-1] if status else None,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "request_id": environ.get(REQUEST_ID_KEY),
        }
        logger.info(json.dumps(record))
        return body

    return middleware


def _stdout_logger() -> logging.Logger:
    # A logger of its own, to stdout, message only: the line is already JSON. The logging module
    # serialises writes from the worker's threads, which bare print() calls would not.
    logger = logging.getLogger("tasks_api.access")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # not a second time through the root logger
    return logger


def cors(app: WSGIApplication, allowed_origins: frozenset[str]) -> WSGIApplication:
    """Access-Control-* headers for the exact origins configured, and none at all for any other."""
    if not allowed_origins:
        return app  # no cross-origin access, and no Vary: Origin either

    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")

        def start(status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None) -> object:
            # Vary on every response: a cache must not hand one origin's answer to another.
            extra = [("Vary", "Origin")]
            if origin in allowed_origins:
                extra += [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
                ]
                allow = next((value for name, value in headers if name.lower() == "allow"), None)
                preflight = (
                    environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
                )
                if preflight and allow:  # the router answered OPTIONS with 204 and Allow
                    extra += [
                        ("Access-Control-Allow-Methods", allow),
                        ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
                        ("Access-Control-Max-Age", "600"),
                    ]
            return start_response(status, [*headers, *extra], exc_info)

        return app(environ, start)

    return middleware
