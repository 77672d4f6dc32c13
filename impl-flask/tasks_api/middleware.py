"""Request ids, the JSON access log line and CORS, as app-wide before/after-request hooks."""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, current_app, g, request

REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")
EXPOSE_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"

access_log = logging.getLogger("tasks_api.access")


def _configure_access_log() -> None:
    # One JSON object per line on stdout, whatever gunicorn or Flask do with their own loggers.
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


# concordance: request-id
def _start_request() -> None:
    # App-level (not blueprint) hooks, so they also run for requests that match no route.
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID")
    g.request_id = given if given is not None and REQUEST_ID_RE.fullmatch(given) else str(uuid.uuid4())


# end concordance


# concordance: cors
def _cors(response: Response) -> None:
    origins = current_app.config["CORS_ALLOW_ORIGINS"]
    if not origins:
        return
    response.vary.add("Origin")  # the answer depends on Origin, so caches must key on it
    origin = request.headers.get("Origin")
    if origin not in origins:
        return  # an origin not in the list gets no Access-Control-* header at all
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
        and "Allow" in response.headers
    ):
        response.headers["Access-Control-Allow-Methods"] = response.headers["Allow"]
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"


# end concordance


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or str(uuid.uuid4())
    response.headers["X-Request-ID"] = request_id
    _cors(response)
    started = g.get("started", time.perf_counter())
    line = {
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": request.method,
        "path": request.path,  # the path only: query strings may carry cursors, never tokens or bodies
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": request_id,
    }
    access_log.info(json.dumps(line))
    return response


def init_app(app: Flask) -> None:
    """Register the hooks on the application (after_request also runs for error responses)."""
    _configure_access_log()
    app.before_request(_start_request)
    app.after_request(_finish_request)
