"""WSGI middleware: a request id on every response, one JSON access-log line per request, CORS."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from tasks_api import accesslog
from tasks_api.clock import log_time
from tasks_api.http import REQUEST_ID_KEY

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII: safe to echo in a header and a log
EXPOSE_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"

# Each middleware wraps start_response to add or read headers: in WSGI that is the only place where
# the response's status and headers pass through on their way to the server.


# concordance: request-id
def request_id(app: WSGIApplication) -> WSGIApplication:
    """Adopt the client's X-Request-ID when it is 1 to 128 visible ASCII characters, else make a UUID4."""

    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        environ[REQUEST_ID_KEY] = given if REQUEST_ID_RE.fullmatch(given) else str(uuid.uuid4())

        def start(status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None) -> object:
            return start_response(status, [*headers, ("X-Request-ID", environ[REQUEST_ID_KEY])], exc_info)

        return app(environ, start)

    return middleware


# end concordance


def access_log(app: WSGIApplication, logger: logging.Logger | None = None) -> WSGIApplication:
    """One JSON line per request (time, method, path, status, duration_ms, request_id), to stdout.

    The line goes to `logger` when one is given (tests); by default to accesslog.py's writer thread,
    so that no request thread waits on another's write.
    """
    emit = logger.info if logger is not None else accesslog.stdout_writer().put

    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[int] = []

        def start(
            status_line: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> object:
            status.append(int(status_line[:3]))
            return start_response(status_line, headers, exc_info)

        def write_line() -> None:
            record = {
                "time": log_time(),
                "method": environ["REQUEST_METHOD"],
                "path": environ.get("PATH_INFO", ""),
                "status": status[-1] if status else None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": environ.get(REQUEST_ID_KEY),
            }
            emit(json.dumps(record))

        # The line is written when the server closes the body, i.e. when the response is over: for a
        # stream (GET /events) that is minutes after the application returned.
        return _ClosingBody(app(environ, start), write_line)

    return middleware


class _ClosingBody:
    """A response body passed through untouched; `on_close` runs once the server has closed it.

    PEP 3333: the server must call close() on the body when it is done with it, whether it sent the
    whole body, a write failed, or it never iterated at all (HEAD). A generator could not promise that.
    """

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self.body = body
        self.on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()  # a stream's `finally` runs here: its Redis subscription is released
        finally:
            self.on_close()


# concordance: cors
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
                    ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
                ]
                allow = next((value for name, value in headers if name.lower() == "allow"), None)
                preflight = (
                    environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
                )
                if preflight and allow:  # the router answered OPTIONS with 204 and Allow
                    extra += [
                        ("Access-Control-Allow-Methods", allow),
                        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
                        ("Access-Control-Max-Age", "600"),
                    ]
            return start_response(status, [*headers, *extra], exc_info)

        return app(environ, start)

    return middleware


# end concordance
