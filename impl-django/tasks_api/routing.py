"""Routing the spec's way: path ids (1..MAX_ID) as converters; per path OPTIONS, HEAD, 405 + Allow."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .errors import ApiError

View = Callable[..., HttpResponse]

# The largest id in a path or a body: 2^53-1, the largest integer every JSON client reads exactly.
MAX_ID = 2**53 - 1

# The canonical order of the Allow header (spec/README.md); clients must not depend on it.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The patch formats a path that serves PATCH accepts (RFC 5789 3.1), on OPTIONS and on a PATCH's 415.
ACCEPT_PATCH = "application/json, application/merge-patch+json"


class IdConverter:
    """A decimal id without sign or leading zeros, 1 to 2^53-1; anything else matches no route (404)."""

    regex = "[1-9][0-9]{0,15}"

    def to_python(self, value: str) -> int:
        """The id, or ValueError (no match) above MAX_ID."""
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)  # Django reads ValueError as "this pattern does not match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class StaticNameConverter:
    """A file name of web/static/: no "/", no leading dot, at most 128 characters.

    Anything else matches no route at all (404 for every method, OPTIONS included), like a malformed id.
    """

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# concordance: routing
def resource(**handlers: View) -> View:
    """A view serving the given methods (get=..., post=...) of one path.

    Django's class-based View would answer OPTIONS with 200 and 405 with an empty text/html body; a
    path here is a table of handlers named after operationIds, checked before authentication.
    """
    methods = {name.upper(): handler for name, handler in handlers.items()}
    if "GET" in methods:
        methods["HEAD"] = methods["GET"]  # FramingMiddleware drops the body
    allow = ", ".join(m for m in METHOD_ORDER if m in methods or m == "OPTIONS")

    def dispatch(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Allow"] = allow
            if "PATCH" in methods:
                response["Accept-Patch"] = ACCEPT_PATCH
            return response
        handler = methods.get(request.method or "")
        if handler is None:
            raise ApiError(
                "method-not-allowed", f"{request.method} is not served here.", headers={"Allow": allow}
            )
        return handler(request, **kwargs)

    dispatch.allow = allow  # type: ignore[attr-defined]  # for the tests
    return dispatch


# end concordance
