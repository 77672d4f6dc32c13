"""Flask's request, JSON and OPTIONS behaviour tuned to the spec, and the path-id URL converter."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Flask, Request, Response, request
from flask.globals import request_ctx
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from .errors import ApiProblem, allow_header

MAX_ID = 2**53 - 1  # ids stay exact in every JSON client (JavaScript numbers are doubles)
MAX_BODY_BYTES = 1_048_576
JSON_TYPES = frozenset({"application/json"})
PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN, Infinity and -Infinity; RFC 8259 does not.
    raise ValueError(f"{name} is not a JSON value")


def _parse_int(digits: str) -> int:
    # Past 20 digits a number is out of every range here; this also avoids int()'s 4300-digit ValueError.
    if len(digits.lstrip("-")) > 20:
        return -(2**64) if digits.startswith("-") else 2**64
    return int(digits)


def _reject_lone_surrogates(value: Any) -> None:
    # json.loads turns "\ud800" into a lone surrogate, which is not Unicode text (nor storable as UTF-8).
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a string holds an unpaired surrogate") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class StrictJSONProvider(DefaultJSONProvider):
    """RFC 8259 JSON in UTF-8 only; responses keep the schema's member order."""

    sort_keys = False  # Flask sorts keys by default; the documents read better in schema order
    ensure_ascii = False  # UTF-8 on the wire, as RFC 8259 says
    compact = True

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """Flask's JSON response without its trailing newline: the same bytes as every other port."""
        response = super().response(*args, **kwargs)
        response.set_data(response.get_data().rstrip(b"\n"))
        return response

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse strictly: invalid UTF-8, NaN/Infinity and lone surrogates all raise ValueError."""
        # Decoding ourselves: json.loads(bytes) would also guess UTF-16 and UTF-32.
        text = s.decode("utf-8") if isinstance(s, bytes) else s
        try:
            value = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
        except RecursionError:
            raise ValueError("the JSON text is nested too deeply") from None
        _reject_lone_surrogates(value)
        return value


class ApiRequest(Request):
    """Flask's request, with JSON errors as problem+json instead of an HTML 400."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """A body that is not JSON text in UTF-8 is 400 malformed-json."""
        raise ApiProblem("malformed-json", f"The body is not JSON text in UTF-8 ({e}).")


# concordance: body-limits
def read_json_body(*, merge_patch: bool = False) -> Any:
    """The request body as JSON, checked in the spec's order: 413, then 415, then 400."""
    # get_data enforces MAX_CONTENT_LENGTH: a declared length over it is refused before reading, a chunked
    # body as soon as it passes it (413), and Werkzeug raises ClientDisconnected (400) on a short read.
    data = request.get_data(cache=True)
    if len(data) >= MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
        # Werkzeug stops a streamed body at the limit without a word (it only raises on the next read):
        # one more byte behind exactly 1 MiB means the body is over it.
        raise RequestEntityTooLarge()
    if request.content_length is not None and len(data) < request.content_length:
        # gunicorn hands over what arrived; a truncated body must never be taken for a request.
        raise ApiProblem("bad-request", "The body is shorter than its Content-Length.")
    if request.mimetype not in (PATCH_TYPES if merge_patch else JSON_TYPES):
        wanted = "application/json or application/merge-patch+json" if merge_patch else "application/json"
        raise ApiProblem("unsupported-media-type", f"Send the body as {wanted}.")
    # force=True: we checked the media type ourselves (Flask's is_json would also take any +json type).
    return request.get_json(force=True)


# end concordance


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

    def make_default_options_response(self) -> Response:
        """204 with Allow in canonical order (Flask answers 200 with an empty text/html body)."""
        adapter = request_ctx.url_adapter
        response = no_content()
        response.headers["Allow"] = allow_header(adapter.allowed_methods() if adapter else ())
        return response


# end concordance


class StaticNameConverter(BaseConverter):
    """A file name of web/static/: no "/", no leading dot, at most 128 characters; anything else matches
    no route at all (404 for every method, OPTIONS included), like a malformed id."""

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
