"""Pure ASGI middleware: request ids, the JSON access log line, the last-resort 500, framing, and CORS."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasks_api import accesslog, clock
from tasks_api.errors import ApiError, internal_error_response, problem_response

EXPOSE_HEADERS = "ETag, Location, Link, X-Request-ID, Idempotent-Replayed"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"

error_log = logging.getLogger("tasks_api")


# concordance: request-id
def request_id_of(header: str | None) -> str:
    """The client's X-Request-ID when it is 1 to 128 visible ASCII characters, else a new UUID4."""
    if header and len(header) <= 128 and all("\x21" <= char <= "\x7e" for char in header):
        return header
    return str(uuid.uuid4())


# end concordance


class RequestContextMiddleware:
    """X-Request-ID on every response, one access log line per request, and a problem+json 500 for
    any exception that escapes (Starlette's own last resort answers text/plain, without the id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # concordance: request-id
        request_id = request_id_of(Headers(scope=scope).get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["Date"] = clock.http_date()  # when the answer leaves (worker.py: uvicorn's is off)
            await send(message)

        # end concordance

        # concordance: problem-details
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception(
                "unhandled error in %s %s (request_id=%s)", scope["method"], scope["path"], request_id
            )
            if response_started:
                raise  # too late for an error response: the server closes the connection
            await internal_error_response()(scope, receive, send_with_id)
        # end concordance
        finally:
            accesslog.write(
                {
                    "time": clock.now(),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "request_id": request_id,
                }
            )


# RFC 9110 7.2 / RFC 3986 3.2.2: host[:port], a host being a reg-name, IPv4 or [IPv6]; never empty, since
# an http URI has a host (RFC 9110 4.2.1). granian sends an empty Host for a request that had none.
HOST_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?")


def origin_form(target: str) -> str:
    """The path of an absolute-form request target (`http://host:port/path` -> `/path`)."""
    return urlsplit(target).path or "/"


class FramingMiddleware:
    """The rules of RFC 9112 the servers leave to the application (spec "HTTP/1.1 framing"), checked the
    same way under every server: HTTP/1.1 needs exactly one valid Host (400); Transfer-Encoding with
    Content-Length or on HTTP/1.0 is 400 (RFC 9112 6.1), a transfer coding other than chunked is not
    implemented (501), and the connection closes after either: the body cannot be trusted; an
    absolute-form target is served as its path (uvicorn would route `http://host/healthz` as a path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        codings = [value for name, value in scope["headers"] if name == b"transfer-encoding"]
        problem = None
        if scope.get("http_version") == "1.1" and (
            len(hosts) != 1 or not HOST_RE.fullmatch(hosts[0].decode("latin-1"))
        ):
            problem = ApiError("bad-request", "HTTP/1.1 needs exactly one Host: host[:port].")
        elif codings and (
            scope.get("http_version") == "1.0" or any(n == b"content-length" for n, _ in scope["headers"])
        ):
            # RFC 9112 6.1: never both framings (granian lets chunked win), nor chunked on HTTP/1.0.
            problem = ApiError(
                "bad-request",
                "Transfer-Encoding with Content-Length or on HTTP/1.0.",
                headers={"Connection": "close"},
            )
        elif codings and b",".join(codings).strip().lower() != b"chunked":
            problem = ApiError(
                "not-implemented",
                "Only the chunked transfer coding is implemented.",
                headers={"Connection": "close"},
            )
        if problem is not None:
            await problem_response(problem)(scope, receive, send)
            return
        if not scope["path"].startswith("/"):
            scope["path"] = origin_form(scope["path"])
            scope["raw_path"] = origin_form(scope.get("raw_path", b"").decode("latin-1")).encode("latin-1")
        await self.app(scope, receive, send)


# concordance: cors
class CorsMiddleware:
    """CORS exactly as spec/README.md has it (Starlette's CORSMiddleware answers preflights itself with
    200 and rejects unknown origins with 400; the spec wants the route's 204 + Allow and no headers)."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins:
            await self.app(scope, receive, send)  # no origins configured: no cross-origin access at all
            return
        request_headers = Headers(scope=scope)
        origin = request_headers.get("origin")
        allowed = origin in self.origins
        preflight = (
            allowed and scope["method"] == "OPTIONS" and "access-control-request-method" in request_headers
        )

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")  # the response differs by Origin: caches must know
                if allowed and origin is not None:
                    headers["Access-Control-Allow-Origin"] = origin
                    headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                    if preflight and message["status"] == 204 and "allow" in headers:
                        headers["Access-Control-Allow-Methods"] = headers["allow"]
                        headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
                        headers["Access-Control-Max-Age"] = "600"
            await send(message)

        await self.app(scope, receive, send_with_cors)


# end concordance
