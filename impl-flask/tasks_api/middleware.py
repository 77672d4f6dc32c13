"""Request ids, the JSON access log line, CORS and the framing checks, as app-wide request hooks."""

from __future__ import annotations

import json
import random
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

from .accesslog import access_log, start_access_log
from .body import CLOSE
from .clock import now, timestamp
from .errors import ApiError

REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")
# RFC 3986 host (IP-literal, IPv4 or reg-name) and an optional port: Host's grammar.
HOST_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]*)?")
EXPOSE_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"


def new_request_id() -> str:
    """A random UUID (version 4) for a request that brought no usable X-Request-ID.

    Hot path: from the random module (reseeded in every forked worker), not uuid4()'s os.urandom: an id
    needs uniqueness, not secrecy, and the system call made every request hand the GIL over once more.
    """
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


# concordance: request-id
def _start_request() -> None:
    # App-level (not blueprint) hooks, so they also run for requests that match no route.
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID")
    g.request_id = given if given is not None and REQUEST_ID_RE.fullmatch(given) else new_request_id()


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
    request_id = g.get("request_id") or new_request_id()
    response.headers["X-Request-ID"] = request_id
    _cors(response)
    started = g.get("started", time.perf_counter())
    line = {
        "time": timestamp(now()),
        "method": request.method,
        "path": request.path,  # the path only: query strings may carry cursors, never tokens or bodies
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": request_id,
    }
    access_log.info(json.dumps(line))
    return response


def check_framing() -> None:
    """What the HTTP server lets through of RFC 9112's framing rules, refused before routing.

    gunicorn and granian pass an HTTP/1.1 request without Host, or with one that is not host[:port], and
    a body in a transfer coding other than chunked alone (`gzip, chunked`: framed, but never decodable
    here). Runs as a before_request hook, so a bad head is refused whatever its path.
    """
    environ = request.environ
    host = environ.get("HTTP_HOST")
    # granian hands over a missing Host as an empty one; an http URI with an empty host is invalid anyway
    # (RFC 9110 4.2.1), so both are refused.
    if not host and environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
        raise ApiError("bad-request", "An HTTP/1.1 request needs a Host header (RFC 9112 3.2).")
    if host is not None and not HOST_RE.fullmatch(host):
        raise ApiError("bad-request", "The Host header is not host[:port] (RFC 9112 3.2).")
    codings = environ.get("HTTP_TRANSFER_ENCODING")
    if codings is not None and [c.strip().lower() for c in codings.split(",")] != ["chunked"]:
        # 501 (RFC 9112 6.1); the body cannot be read, so the connection must not be reused.
        raise ApiError(
            "not-implemented",
            "Only the chunked transfer coding is supported.",
            headers=CLOSE,
        )


def init_app(app: Flask) -> None:
    """Register the hooks on the application (after_request also runs for error responses)."""
    start_access_log()
    app.before_request(_start_request)
    app.before_request(check_framing)  # after the request id is set: a 400 carries it too
    app.after_request(_finish_request)
