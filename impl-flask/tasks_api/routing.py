"""What routing must do the spec's way: path ids (1..2^53-1), static names, 405 + Allow, OPTIONS, HEAD."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask.globals import request_ctx
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter

from .errors import problem_response

MAX_ID = 2**53 - 1  # ids stay exact in every JSON client (JavaScript numbers are doubles)
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The patch formats (RFC 5789 3.1), named by OPTIONS and by a PATCH's 415 (body.py).
ACCEPT_PATCH = "application/json, application/merge-patch+json"


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
    """A path id: 1 to MAX_ID without sign or leading zeros; anything else matches no route (404)."""

    # The range is in the regex, not in to_python: a ValidationError there would make Werkzeug answer 405
    # when another method's rule shares the path (it counts their methods before converting the value).
    regex = decimal_up_to(MAX_ID)

    def to_python(self, value: str) -> int:
        """The id as an int."""
        return int(value)

    def to_url(self, value: Any) -> str:
        """Ids are written in plain decimal."""
        return str(int(value))


class StaticNameConverter(BaseConverter):
    """A file name of web/static/: no "/", no leading dot, at most 128 characters; anything else matches
    no route at all (404 for every method, OPTIONS included), like a malformed id."""

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"


def allow_header(methods: Any) -> str:
    """The Allow value in the canonical order (Werkzeug hands us an unordered set)."""
    present = {str(m).upper() for m in methods}
    return ", ".join(m for m in METHOD_ORDER if m in present)


def no_content(status: int = 204) -> Response:
    """An empty response (204, 304) without the text/html Content-Type Flask would give it."""
    response = Response(status=status)
    response.headers.remove("Content-Type")
    return response


# concordance: routing
def init_app(app: Flask) -> None:
    """The routing rules the spec fixes, set before any rule is added, and the 405 problem."""
    app.url_map.converters["id"] = IdConverter  # /tasks/007, /tasks/0, /tasks/2**53 match no route (404)
    app.url_map.converters["static_name"] = StaticNameConverter  # /static/.hidden matches no route (404)
    app.url_map.strict_slashes = True  # /projects/ is an unknown path (404), never a redirect
    app.url_map.merge_slashes = False  # Werkzeug would redirect /projects//tasks; the spec says 404
    app.register_error_handler(MethodNotAllowed, method_not_allowed)


def refuse_empty_leading_segment() -> None:
    """//projects is an unknown path (404): Werkzeug strips leading slashes before it matches a rule."""
    if request.environ.get("PATH_INFO", "").startswith("//"):
        raise NotFound()  # the same 404 problem as any unknown path (errors.py)


def method_not_allowed(error: MethodNotAllowed) -> Response:
    """405 as problem+json with Allow in canonical order (Werkzeug's page is HTML, its Allow unordered)."""
    return problem_response(
        "method-not-allowed",
        f"{request.method} is not served on this path.",
        headers={"Allow": allow_header(error.valid_methods or ())},
    )


def options_response() -> Response:
    """OPTIONS: 204 with Allow in canonical order (Flask answers 200 with an empty text/html body)."""
    adapter = request_ctx.url_adapter
    response = no_content()
    methods = adapter.allowed_methods() if adapter else ()
    response.headers["Allow"] = allow_header(methods)
    if "PATCH" in methods:
        response.headers["Accept-Patch"] = ACCEPT_PATCH  # the patch formats (RFC 5789 3.1)
    return response


# end concordance
