"""The problem types (slug, status, title), problem+json rendering, and every error handler in one place."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
    "login-throttled": (429, "Too many login attempts"),
    "internal-error": (500, "Internal server error"),
    "not-implemented": (501, "Not implemented"),
    "service-unavailable": (503, "Service unavailable"),
}
MAX_ERRORS = 20  # a 422 lists at most this many problems (spec/README.md, "Validation")
# SQLSTATEs that say "not now" rather than "bug": read-only transaction (25006), statement or lock timeout
# (57014, 55P03); psycopg raises 25006 as an InternalError, the others as OperationalError.
UNAVAILABLE_SQLSTATES = frozenset({"25006", "57014", "55P03"})


class ApiError(Exception):
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


def validation_error(errors: list[dict[str, str]]) -> ApiError:
    """A 422 validation-error listing the problems found, at most MAX_ERRORS of them."""
    errors = errors[:MAX_ERRORS]
    count = len(errors)
    detail = f"The request has {count} invalid field{'s' if count != 1 else ''}."
    return ApiError("validation-error", detail, errors=errors)


def not_found(kind: str, ident: int) -> ApiError:
    """404 not-found for a missing resource; another user's is the same as a missing one."""
    return ApiError("not-found", f"No {kind} with id {ident}.")


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


# concordance: bad-weather
RETRY_SOON = {"Retry-After": "1"}


def database_unavailable(error: SQLAlchemyError) -> bool:
    """Whether a database error means "not now" (503) rather than a bug (500): the server cannot be
    reached or dropped the connection, refused a write because it is read-only, or did not answer within
    DATABASE_TIMEOUT_SECONDS (busy/locked SQLite, statement or lock timeout, a pool without a free
    connection in time)."""
    # An error raised while handling one of those counts too: a flush whose connection was lost fails
    # its own rollback with PendingRollbackError, the lost connection being its __context__.
    cause: BaseException | None = error
    for _depth in range(4):
        if isinstance(cause, PoolTimeoutError):
            return True
        if isinstance(cause, DBAPIError):
            if cause.connection_invalidated or isinstance(cause, OperationalError):
                # psycopg: connection refused or lost, 57014, 55P03, admin shutdown; sqlite3: "database
                # is locked" after busy_timeout, "attempt to write a readonly database", disk I/O errors.
                return True
            return getattr(cause.orig, "sqlstate", None) in UNAVAILABLE_SQLSTATES
        if cause is None:
            return False
        cause = cause.__cause__ or cause.__context__
    return False


# end concordance


# concordance: problem-details
def register_error_handlers(app: Flask) -> None:
    """Every error, whichever layer raised it, leaves as problem+json (Flask's default is an HTML page)."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return problem_response(error.slug, error.detail, errors=error.errors, headers=error.headers)

    @app.errorhandler(HTTPException)
    def _http_exception(error: HTTPException) -> Response:
        # Werkzeug's routing and body-reading errors, re-rendered in the API's problem types (405 has its
        # own handler, routing.method_not_allowed, registered by routing.init_app).
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

    @app.errorhandler(SQLAlchemyError)
    def _database_error(error: SQLAlchemyError) -> Response:
        if not database_unavailable(error):
            return _unexpected(error)
        # Not a bug in this port, so not a 500, and no traceback: one line naming the error class.
        orig = getattr(error, "orig", None)
        cause = type(orig).__name__ if orig is not None else type(error).__name__
        sqlstate = getattr(orig, "sqlstate", None)
        current_app.logger.error(
            "database unavailable on %s %s: %s%s",
            request.method,
            request.path,
            cause,
            f" (SQLSTATE {sqlstate})" if sqlstate else "",
        )
        return problem_response(
            "service-unavailable", "The database is unavailable; retry shortly.", headers=RETRY_SOON
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # Flask would answer an HTML 500; a 500 is always a bug: log the traceback, never send it.
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response("internal-error", "An unexpected error occurred.")


# end concordance
