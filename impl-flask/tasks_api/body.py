"""Flask's request, JSON and OPTIONS behaviour tuned to the spec, and the path-id URL converter."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from flask import Flask, Request, Response, request
from flask.globals import request_ctx
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from .errors import ApiProblem, allow_header

MAX_ID = 2**53 - 1  # ids stay exact in every JSON client (JavaScript numbers are doubles)
MAX_BODY_BYTES = 1_048_576
JSON_TYPES = frozenset({"application/json"})
PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})
ACCEPT_PATCH = "application/json, application/merge-patch+json"
# RFC 3986 host (IP-literal, IPv4 or reg-name) and an optional port: Host's grammar.
HOST_RE = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]*)?")
CLOSE = {"Connection": "close"}  # the request's body cannot be framed: never read the next one
# Arrays and objects nested deeper than this are 400 malformed-json (RFC 8259 section 9 allows a limit).
MAX_DEPTH = 32


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN, Infinity and -Infinity; RFC 8259 does not.
    raise ValueError(f"{name} is not a JSON value")


def _parse_int(digits: str) -> int:
    # Past 20 digits a number is out of every range here; this also avoids int()'s 4300-digit ValueError.
    if len(digits.lstrip("-")) > 20:
        return -(2**64) if digits.startswith("-") else 2**64
    return int(digits)


def _check_parsed(value: Any) -> None:
    """Reject what json.loads lets through: nesting deeper than MAX_DEPTH, and lone surrogates.

    Iterative (a stack, not recursion), so walking a parsed document costs no Python stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                # json.loads turns "\ud800" into a lone surrogate: not Unicode text, nor storable as UTF-8.
                raise ValueError("a string holds an unpaired surrogate") from None
        elif isinstance(item, dict | list):
            if depth == MAX_DEPTH:
                raise ValueError(f"the JSON text is nested deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


# Hot path: json.dumps with options builds a new encoder at every call.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=False, default=DefaultJSONProvider.default
)


class StrictJSONProvider(DefaultJSONProvider):
    """RFC 8259 JSON in UTF-8 only; responses keep the schema's member order."""

    sort_keys = False  # Flask sorts keys by default; the documents read better in schema order
    ensure_ascii = False  # UTF-8 on the wire, as RFC 8259 says
    compact = True

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Compact JSON in schema order; the common call (no options) uses one encoder built per process."""
        if kwargs:
            return super().dumps(obj, **kwargs)
        return _ENCODER.encode(obj)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """Flask's JSON response without its trailing newline: the same bytes as every other port."""
        # Hot path: built directly (Flask's own adds a newline this port would then cut off a copy).
        body = self.dumps(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(body, mimetype=self.mimetype)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse strictly: invalid UTF-8, NaN/Infinity and lone surrogates all raise ValueError."""
        # Decoding ourselves: json.loads(bytes) would also guess UTF-16 and UTF-32.
        text = s.decode("utf-8") if isinstance(s, bytes) else s
        try:
            value = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
        except RecursionError:
            # The C scanner stops at the interpreter's recursion limit (about 1000 levels) with
            # RecursionError, long before the thread's stack: 1 MiB of "[" ends here, as a 400.
            raise ValueError(f"the JSON text is nested deeper than {MAX_DEPTH} levels") from None
        _check_parsed(value)
        return value


class NoCookieSession(SessionInterface):
    """The API is stateless (bearer tokens): no cookie session is ever opened. Flask's default would build a
    signing serializer from SECRET_KEY (which holds the cursors' key here) for every request."""

    def open_session(self, app: Flask, request: Request) -> None:
        """None: Flask then uses a null session, and saves nothing."""
        return None

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        """Never called for a null session."""


class ApiRequest(Request):
    """Flask's request, with JSON errors as problem+json instead of an HTML 400."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """A body that is not JSON text in UTF-8 is 400 malformed-json."""
        raise ApiProblem("malformed-json", f"The body is not JSON text in UTF-8 ({e}).")


# concordance: body-limits
def read_json_body(*, merge_patch: bool = False) -> Any:
    """The request body as JSON, checked in the spec's order: 413, then 415, then 400."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()  # refused unread (gunicorn.conf.py closes such a connection)
    if declared is not None:
        # A body of known length is refused for its media type before it is read, so that a client that
        # sent `Expect: 100-continue` gets the 415 at once instead of a wait for a body it holds back.
        _check_media_type(merge_patch)
    # get_data enforces MAX_CONTENT_LENGTH: a chunked body is refused as soon as it passes it (413), and
    # Werkzeug raises ClientDisconnected (400) on a short read.
    try:
        data = request.get_data(cache=True)
    except HTTPException:
        raise  # 413 past the limit, 400 for a client that stopped sending
    except Exception as exc:
        # The server's own chunked parser failed (gunicorn: InvalidChunkSize, ChunkMissingTerminator):
        # the body cannot be framed, a client error, not a bug. The connection must not be reused.
        raise ApiProblem(
            "bad-request", f"The chunked body is malformed ({type(exc).__name__}).", headers=CLOSE
        ) from None
    if len(data) >= MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
        # Werkzeug stops a streamed body at the limit without a word (it only raises on the next read):
        # one more byte behind exactly 1 MiB means the body is over it.
        raise RequestEntityTooLarge()
    if declared is not None and len(data) < declared:
        # gunicorn hands over what arrived; a truncated body must never be taken for a request.
        raise ApiProblem("bad-request", "The body is shorter than its Content-Length.")
    _check_media_type(merge_patch)  # a chunked body: its size (413) had to be known first
    # force=True: we checked the media type ourselves (Flask's is_json would also take any +json type).
    return request.get_json(force=True)


def _check_media_type(merge_patch: bool) -> None:
    if request.mimetype not in (PATCH_TYPES if merge_patch else JSON_TYPES):
        wanted = "application/json or application/merge-patch+json" if merge_patch else "application/json"
        # A refused PATCH names the formats it takes (RFC 5789 3.1), as OPTIONS does.
        headers = {"Accept-Patch": ACCEPT_PATCH} if merge_patch else None
        raise ApiProblem("unsupported-media-type", f"Send the body as {wanted}.", headers=headers)


# end concordance


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
        raise ApiProblem("bad-request", "An HTTP/1.1 request needs a Host header (RFC 9112 3.2).")
    if host is not None and not HOST_RE.fullmatch(host):
        raise ApiProblem("bad-request", "The Host header is not host[:port] (RFC 9112 3.2).")
    codings = environ.get("HTTP_TRANSFER_ENCODING")
    if codings is not None and [c.strip().lower() for c in codings.split(",")] != ["chunked"]:
        # 501 (RFC 9112 6.1); the body cannot be read, so the connection must not be reused.
        raise ApiProblem(
            "not-implemented",
            "Only the chunked transfer coding is supported.",
            headers=CLOSE,
        )


def no_content(status: int = 204) -> Response:
    """An empty response without the text/html Content-Type Flask would give it."""
    response = Response(status=status)
    response.headers.remove("Content-Type")
    return response


def decimal_up_to(limit: int) -> str:
    """A regex for the decimal integers 1..limit, without sign or leading zeros."""
    digits = str(limit)
    # Every number with fewer digits than the limit, then the limit's length digit by digit.
    shorter = f"[1-9][0-9]{{0,{len(digits) - 2}}}"
    same_length = []
    for i, digit in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            below = f"[{low}-{int(digit) - 1}]" if int(digit) - 1 > int(low) else low
            same_length.append(f"{digits[:i]}{below}[0-9]{{{len(digits) - i - 1}}}")
    same_length.append(digits)
    return "(?:" + "|".join([shorter, *same_length]) + ")"


class IdConverter(BaseConverter):
    """A path id: 1 to 2^53-1 without sign or leading zeros; anything else matches no route (404)."""

    # The range is in the regex, not in to_python: a ValidationError there would make Werkzeug answer 405
    # when another method's rule shares the path (it counts their methods before converting the value).
    regex = decimal_up_to(MAX_ID)

    def to_python(self, value: str) -> int:
        """The id as an int."""
        return int(value)

    def to_url(self, value: Any) -> str:
        """Ids are written in plain decimal."""
        return str(int(value))


# concordance: routing
class TasksFlask(Flask):
    """Flask with the strict request class and JSON provider, and OPTIONS answered as the spec says."""

    request_class = ApiRequest
    json_provider_class = StrictJSONProvider
    session_interface = NoCookieSession()

    def make_default_options_response(self) -> Response:
        """204 with Allow in canonical order (Flask answers 200 with an empty text/html body)."""
        adapter = request_ctx.url_adapter
        response = no_content()
        methods = adapter.allowed_methods() if adapter else ()
        response.headers["Allow"] = allow_header(methods)
        if "PATCH" in methods:
            response.headers["Accept-Patch"] = ACCEPT_PATCH  # the patch formats (RFC 5789 3.1)
        return response


# end concordance


class StaticNameConverter(BaseConverter):
    """A file name of web/static/: no "/", no leading dot, at most 128 characters; anything else matches
    no route at all (404 for every method, OPTIONS included), like a malformed id."""

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
