"""Request ids and the JSON access log, CORS, what framing and Host need beyond CommonMiddleware, problems."""

import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from . import db
from .clock import log_time
from .errors import CLOSE, ApiError, problem_response, service_unavailable

GetResponse = Callable[[HttpRequest], HttpResponse]

REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")
EXPOSE_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"

access_log = logging.getLogger("tasks_api.access")
bad_weather_log = logging.getLogger("tasks_api.bad_weather")


# concordance: request-id
class RequestIdMiddleware:
    """Outermost: every response (errors included) carries X-Request-ID, and one JSON log line is written."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else str(uuid.uuid4())
        request.request_id = request_id  # type: ignore[attr-defined]
        # Django turns every exception below into a response (handler404/handler500), so one comes back.
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        # Never the query string's tokens or the body: only what the spec lists.
        access_log.info(
            json.dumps(
                {
                    "time": log_time(),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "request_id": request_id,
                }
            )
        )
        return response


# end concordance


class HostRequiredMiddleware:
    """400 for an HTTP/1.1 request without Host (RFC 9112 3.2), which CommonMiddleware lets through.

    CommonMiddleware (above this one) validates a Host that is there, through get_host(): malformed, two
    of them (the server joins them with a comma), or not in ALLOWED_HOSTS is DisallowedHost, a 400. A
    missing Host it does not notice: get_host() falls back to SERVER_NAME (the bind address) and passes.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_HOST" not in request.META and request.META.get("SERVER_PROTOCOL") == "HTTP/1.1":
            return problem_response("bad-request", "An HTTP/1.1 request must carry a Host header.")
        return self.get_response(request)


class TransferCodingMiddleware:
    """501 for a transfer coding other than chunked alone (`gzip, chunked`): this API decodes none."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        coding = request.META.get("HTTP_TRANSFER_ENCODING")
        if coding is not None and coding.strip().lower() != "chunked":
            # gunicorn passes `gzip, chunked` on (decoding only the chunks) and closes the connection
            # after the answer; the body is still gzip, which no operation here accepts.
            return problem_response(
                "not-implemented", f"Transfer-Encoding {coding!r} is not supported.", headers=CLOSE
            )
        return self.get_response(request)


# concordance: cors
class CorsMiddleware:
    """Exact-origin CORS from CORS_ALLOW_ORIGINS, preflights included; no credentials mode."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        origins = settings.CORS_ALLOW_ORIGINS
        if not origins:
            return response
        # The answer depends on Origin whenever any origin is allowed: tell caches so.
        patch_vary_headers(response, ("Origin",))
        origin = request.META.get("HTTP_ORIGIN")
        if origin not in origins:
            return response
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        is_preflight = request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META
        if is_preflight and response.status_code == 204 and response.has_header("Allow"):
            response["Access-Control-Allow-Methods"] = response["Allow"]
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Max-Age"] = "600"
        return response
        # end concordance


class FramingMiddleware:
    """What CommonMiddleware's Content-Length leaves to do: HEAD without a body, 204/304 without either.

    Outside CommonMiddleware, so the length it sets is GET's; Django's WSGIHandler sends a HEAD's body
    and gives every response, even one that has no body, a text/html Content-Type.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.streaming:
            return response
        if response.status_code in (204, 304):
            # A 204 must not carry Content-Length (RFC 9110 8.6), and a 304's would have to be GET's.
            del response["Content-Type"]
            del response["Content-Length"]
        if request.method == "HEAD":
            # The server must not send a body for HEAD; the Content-Length stays GET's.
            response.content = b""
        return response


# concordance: bad-weather
def unavailable_response(request: HttpRequest, exception: Exception) -> HttpResponse | None:
    """503 when the database cannot serve now (down, read-only, locked, too slow), never a 500.

    atomic() has rolled the transaction back; one log line names the error: no traceback, no bind values.
    """
    error = db.unavailable(exception)
    if error is None:
        return None
    bad_weather_log.warning(
        "database unavailable: %s (%s %s answered 503)", error, request.method, request.path
    )
    return service_unavailable("The database is unavailable; retry shortly.").response()


# end concordance


# concordance: problem-details
class ProblemMiddleware:
    """Innermost: an ApiError raised by a view becomes its problem+json response."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApiError):
            return exception.response()
        # A database that cannot serve now is a 503; anything else is a bug: Django's handler500 answers.
        return unavailable_response(request, exception)


# end concordance


# --- below Django: a WSGI wrapper around the whole application ---

DRAIN_MAX_BYTES = 4 * 1_048_576
DRAIN_SECONDS = 2.0


def drain_unread_body(environ: dict[str, Any]) -> None:
    """Read and discard what the client is still sending of a body the response did not need.

    An early answer (401, 413, 404 ...) leaves the body on the socket; gunicorn drains only 64 KiB and
    then closes, and closing a socket with unread data makes the kernel send RST, which can destroy the
    response before the client reads it. Bounded in bytes and time: past those, closing is the defence.
    """
    if environ.get("CONTENT_LENGTH", "0") == "0" and "HTTP_TRANSFER_ENCODING" not in environ:
        return  # no body was sent (every GET of the hot path): nothing to drain, no socket calls
    stream = environ.get("wsgi.input")
    sock = environ.get("gunicorn.socket")
    if stream is None or sock is None:
        # Without the socket the read cannot be bounded in time (granian's wsgi.input waits for the
        # client as long as it likes): a thread held by a silent client is worse than a lost answer.
        return
    previous = sock.gettimeout()
    deadline = time.monotonic() + DRAIN_SECONDS
    drained = 0
    try:
        while drained < DRAIN_MAX_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            sock.settimeout(remaining)
            piece = stream.read(65536)
            if not piece:
                return
            drained += len(piece)
    except Exception:  # a timeout, a reset or a broken chunk: gunicorn closes the connection
        return
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(previous)


class _DrainOnClose:
    """The application's response iterable; close() (called after the response is sent) drains the body."""

    def __init__(self, result: Iterable[bytes], environ: dict[str, Any]) -> None:
        self.result = result
        self.environ = environ

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            drain_unread_body(self.environ)


class DrainUnreadBody:
    """WSGI middleware: after each response, drain the unread rest of the request body (see above)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> _DrainOnClose:
        return _DrainOnClose(self.app(environ, start_response), environ)
