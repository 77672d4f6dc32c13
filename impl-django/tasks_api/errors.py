"""The problem types of spec/README.md (slug, status, title) and their application/problem+json rendering."""

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse

PROBLEM_BASE = "https://tasks-api.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# slug -> (status, title): the fixed list, identical in every port.
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "Malformed JSON"),
    "bad-request": (400, "Bad request"),
    "invalid-cursor": (400, "Invalid cursor"),
    "authentication-required": (401, "Authentication required"),
    "invalid-token": (401, "Invalid token"),
    "invalid-credentials": (401, "Invalid credentials"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "email-taken": (409, "Email already registered"),
    "idempotency-in-flight": (409, "Request in flight"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "Validation failed"),
    "idempotency-key-reused": (422, "Idempotency key reused"),
    "login-throttled": (429, "Too many login attempts"),
    "internal-error": (500, "Internal server error"),
    "not-implemented": (501, "Not implemented"),
    "service-unavailable": (503, "Service unavailable"),
}

# On an answer after which the rest of the connection cannot be framed (a body refused unread, broken
# chunks, an unknown transfer coding). gunicorn drops this hop-by-hop header and closes by itself;
# granian (hyper) honours it.
CLOSE = {"Connection": "close"}

# A 422 lists at most this many problems: it must never be much larger than its request.
MAX_ERRORS = 20

# One item of a 422's "errors": {"detail", and exactly one of "pointer", "parameter", "header"}.
ErrorItem = dict[str, str]


# concordance: problem-details
def problem_response(
    slug: str,
    detail: str,
    errors: list[ErrorItem] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """Render one problem as an application/problem+json response."""
    status, title = PROBLEMS[slug]
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# end concordance


class ApiError(Exception):
    """Raised anywhere below a view; ProblemMiddleware.process_exception turns it into the response."""

    def __init__(
        self,
        slug: str,
        detail: str,
        errors: list[ErrorItem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.headers = headers

    def response(self) -> HttpResponse:
        return problem_response(self.slug, self.detail, self.errors, self.headers)


class ValidationFailed(ApiError):
    """A 422 validation-error carrying every problem found at once."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        errors = errors[:MAX_ERRORS]  # the first 20 found (body, then header problems)
        count = len(errors)
        super().__init__(
            "validation-error", f"The request has {count} invalid field{'s' if count != 1 else ''}.", errors
        )


def not_found(what: str = "resource") -> ApiError:
    """404 not-found: the one answer for a missing resource and for one that is not the caller's."""
    return ApiError("not-found", f"No such {what}.")


def service_unavailable(detail: str) -> ApiError:
    """503: nothing changed, come back in a second."""
    return ApiError("service-unavailable", detail, headers={"Retry-After": "1"})


# Django's error views (handler400/404/500 in the root URLconf), in problem+json instead of HTML.


# concordance: problem-details
def bad_request(request: Any, exception: Exception) -> HttpResponse:
    """handler400: Django's SuspiciousOperation family (e.g. a Host not in ALLOWED_HOSTS)."""
    if isinstance(exception, RequestDataTooBig):
        return problem_response("payload-too-large", "The body is over 1048576 bytes.")
    response = problem_response("bad-request", "The request is not valid HTTP for this API.")
    # A bad Host is raised by CommonMiddleware itself, so this answer never passes its process_response,
    # which sets Content-Length on every other one: without it gunicorn would send this one chunked.
    response["Content-Length"] = str(len(response.content))
    return response


def page_not_found(request: Any, exception: Exception) -> HttpResponse:
    """handler404: no route matches the path (including a trailing-slash variant or a bad id)."""
    return problem_response("not-found", "No resource at this path.")


def server_error(request: Any) -> HttpResponse:
    """handler500: an unhandled exception; the traceback goes to the log, never to the client."""
    return problem_response("internal-error", "The server failed to answer this request.")


# end concordance
