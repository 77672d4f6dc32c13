"""The problem types (slug, status, title), problem+json rendering, and every error handler in one place."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

PROBLEM_BASE = "https://tasks-api.example/problems/"
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
    "internal-error": (500, "Internal server error"),
    "service-unavailable": (503, "Service unavailable"),
}
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class ApiProblem(Exception):
    """Raised anywhere in a request; the handler below turns it into problem+json."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def validation_error(errors: list[dict[str, str]]) -> ApiProblem:
    """A 422 validation-error listing every problem found."""
    count = len(errors)
    detail = f"The request has {count} invalid field{'s' if count != 1 else ''}."
    return ApiProblem("validation-error", detail, errors=errors)


# concordance: problem-details
def problem_response(
    slug: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An application/problem+json response for one of the fixed problem types."""
    status, title = PROBLEMS[slug]
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    # Compact UTF-8 like every JSON body here (spec/README.md, "Media types").
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, status=status, mimetype="application/problem+json")
    response.headers.update(headers or {})
    return response


# end concordance


def allow_header(methods: object) -> str:
    """The Allow value in the canonical order (Werkzeug hands us an unordered set)."""
    present = {str(m).upper() for m in methods}  # type: ignore[attr-defined]
    return ", ".join(m for m in METHOD_ORDER if m in present)


# concordance: problem-details
def register_error_handlers(app: Flask) -> None:
    """Every error, whichever layer raised it, leaves as problem+json (Flask's default is an HTML page)."""

    @app.errorhandler(ApiProblem)
    def _api_problem(error: ApiProblem) -> Response:
        return problem_response(error.slug, error.detail, errors=error.errors, headers=error.headers)

    @app.errorhandler(HTTPException)
    def _http_exception(error: HTTPException) -> Response:
        # Werkzeug's routing and body-reading errors, re-rendered in the API's problem types.
        if isinstance(error, MethodNotAllowed):
            return problem_response(
                "method-not-allowed",
                f"{request.method} is not served on this path.",
                headers={"Allow": allow_header(error.valid_methods or ())},
            )
        if isinstance(error, RequestEntityTooLarge):
            limit = current_app.config["MAX_CONTENT_LENGTH"]
            return problem_response("payload-too-large", f"The body is over {limit} bytes.")
        if error.code == 400:
            # ClientDisconnected (a body shorter than its Content-Length) and any other bad request.
            return problem_response("bad-request", "The request is incomplete or not valid HTTP.")
        if error.code is not None and error.code >= 500:
            return problem_response("internal-error", "An unexpected error occurred.")
        # 404, and also any redirect Werkzeug might want (there must be none: a trailing slash is 404).
        return problem_response("not-found", f"No resource at {request.path}.")

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> Response:
        if isinstance(error, OperationalError) or error.connection_invalidated:
            # The database is down, or locked past busy_timeout: not a bug in this port, so not a 500.
            current_app.logger.error("database unavailable: %s", error.orig)
            return problem_response("service-unavailable", "The database cannot be reached.")
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # Flask would answer an HTML 500; a 500 is always a bug: log the traceback, never send it.
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response("internal-error", "An unexpected error occurred.")


# end concordance
