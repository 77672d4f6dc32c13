"""One Django view per path that dispatches on the method: OPTIONS 204, HEAD as GET, 405 with Allow."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .errors import ApiError

View = Callable[..., HttpResponse]

# The canonical order of the Allow header (spec/README.md); clients must not depend on it.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The patch formats a path that serves PATCH accepts (RFC 5789 3.1), on OPTIONS and on a PATCH's 415.
ACCEPT_PATCH = "application/json, application/merge-patch+json"


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
