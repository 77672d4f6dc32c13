"""The WSGI floor (gunicorn gthread, granian WSGI): the read, page and write with the driver directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import floor_core as core
import floor_sync

REASONS = {200: "200 OK", 201: "201 Created", 304: "304 Not Modified", 400: "400 Bad Request",
           401: "401 Unauthorized", 404: "404 Not Found", 422: "422 Unprocessable Content"}  # fmt: skip


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Route, do the work, answer: everything in floor_sync.handle."""
    body = b""
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
    status, headers, payload = floor_sync.handle(
        environ["REQUEST_METHOD"],
        environ["PATH_INFO"],
        environ.get("QUERY_STRING", ""),
        environ.get("HTTP_AUTHORIZATION"),
        environ.get("HTTP_IF_NONE_MATCH"),
        body,
    )
    start_response(REASONS[status], headers)
    return [payload]


assert core.DATABASE_URL  # fail at import (the worker boot), not at the first request
