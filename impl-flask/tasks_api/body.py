"""The request body: the 1 MiB limit, the media type, strict JSON (depth, numbers, surrogates, UTF-8)."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Request, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .errors import ApiError
from .routing import ACCEPT_PATCH
from .schemas import MAX_INTEGER_DIGITS

MAX_BODY_BYTES = 1_048_576
JSON_TYPES = frozenset({"application/json"})
PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})
CLOSE = {"Connection": "close"}  # the request's body cannot be framed: never read the next one
# Arrays and objects nested deeper than this are 400 malformed-json (RFC 8259 section 9 allows a limit).
MAX_DEPTH = 32


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN, Infinity and -Infinity; RFC 8259 does not.
    raise ValueError(f"{name} is not a JSON value")


def _parse_int(digits: str) -> int:
    # Refused before conversion: past MAX_INTEGER_DIGITS a number is out of every range here (the schema's
    # range check then reports it), and int() never sees 4,300 digits (its ValueError would be a 500).
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
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


class ApiRequest(Request):
    """Flask's request, with JSON errors as problem+json instead of an HTML 400."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """A body that is not JSON text in UTF-8 is 400 malformed-json."""
        raise ApiError("malformed-json", f"The body is not JSON text in UTF-8 ({e}).")


# concordance: body-limits
def read_json(*, merge_patch: bool = False) -> Any:
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
        raise ApiError(
            "bad-request", f"The chunked body is malformed ({type(exc).__name__}).", headers=CLOSE
        ) from None
    if len(data) >= MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
        # Werkzeug stops a streamed body at the limit without a word (it only raises on the next read):
        # one more byte behind exactly 1 MiB means the body is over it.
        raise RequestEntityTooLarge()
    if declared is not None and len(data) < declared:
        # gunicorn hands over what arrived; a truncated body must never be taken for a request.
        raise ApiError("bad-request", "The body is shorter than its Content-Length.")
    _check_media_type(merge_patch)  # a chunked body: its size (413) had to be known first
    # force=True: we checked the media type ourselves (Flask's is_json would also take any +json type).
    return request.get_json(force=True)


def _check_media_type(merge_patch: bool) -> None:
    if request.mimetype not in (PATCH_TYPES if merge_patch else JSON_TYPES):
        wanted = "application/json or application/merge-patch+json" if merge_patch else "application/json"
        # A refused PATCH names the formats it takes (RFC 5789 3.1), as OPTIONS does.
        headers = {"Accept-Patch": ACCEPT_PATCH} if merge_patch else None
        raise ApiError("unsupported-media-type", f"Send the body as {wanted}.", headers=headers)


# end concordance
